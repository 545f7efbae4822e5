package controlplane

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RunLoadBalancer stands in for a cloud load balancer: every second it gives each Service of type
// LoadBalancer that has no address a loopback one (127.0.1.x), so Helm's and Pulumi's waits for
// an address end. The address is never served: no traffic flows on this control plane.
func RunLoadBalancer(ctx context.Context, client kubernetes.Interface) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := assignAddresses(ctx, client); err != nil && ctx.Err() == nil {
			fmt.Printf("%s assigning load balancer addresses: %v\n", time.Now().Format(time.RFC3339), err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func assignAddresses(ctx context.Context, client kubernetes.Interface) error {
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: LoadBalancerIP(svc.Namespace, svc.Name)}}
		if _, err := client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("%s/%s: %w", svc.Namespace, svc.Name, err)
		}
		fmt.Printf("%s %s/%s -> %s\n", time.Now().Format(time.RFC3339), svc.Namespace, svc.Name, svc.Status.LoadBalancer.Ingress[0].IP)
	}
	return nil
}

// LoadBalancerIP is the stable loopback address given to a Service.
func LoadBalancerIP(namespace, name string) string {
	h := fnv.New32a()
	h.Write([]byte(namespace + "/" + name))
	return fmt.Sprintf("127.0.1.%d", 1+h.Sum32()%254)
}
