package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/istio-workshop/istio-workshop/internal/rollouts"
)

// IssuedByRoot checks that Secret ns/name (cert-manager's layout) holds a CA certificate that
// root signed and that is not root itself, with its key, and root as ca.crt.
func IssuedByRoot(ctx context.Context, client kubernetes.Interface, ns, name string, root []byte) error {
	rootCert, err := firstCert(root)
	if err != nil {
		return fmt.Errorf("the stack's root CA: %w", err)
	}
	s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if k8serrors.IsNotFound(err) {
		return fmt.Errorf("Secret %s/%s does not exist (has cert-manager issued the Certificate? kubectl describe certificate %s -n %s)", ns, name, name, ns)
	}
	if err != nil {
		return err
	}
	ca, err := firstCert(s.Data["tls.crt"])
	if err != nil {
		return fmt.Errorf("Secret %s/%s, tls.crt: %w", ns, name, err)
	}
	switch {
	case !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("Secret %s/%s: %q is not a CA that may sign certificates", ns, name, ca.Subject)
	case bytes.Equal(ca.Raw, rootCert.Raw) || bytes.Equal(ca.RawSubjectPublicKeyInfo, rootCert.RawSubjectPublicKeyInfo):
		return fmt.Errorf("Secret %s/%s holds the root itself, not an intermediate", ns, name)
	case !bytes.Equal(bytes.TrimSpace(s.Data["ca.crt"]), bytes.TrimSpace(root)):
		return fmt.Errorf("Secret %s/%s: ca.crt is not the stack's root CA", ns, name)
	}
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	if _, err := ca.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("Secret %s/%s: %q does not chain to the stack's root CA: %w", ns, name, ca.Subject, err)
	}
	if _, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"]); err != nil {
		return fmt.Errorf("Secret %s/%s: tls.key is not the key of tls.crt: %w", ns, name, err)
	}
	return nil
}

// MountsSecret checks that Deployment ns/name mounts Secret secret as its volume volume,
// required, and that its rollout is complete (every replica runs this template).
func MountsSecret(ctx context.Context, client kubernetes.Interface, ns, name, volume, secret string) error {
	d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	found := false
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name != volume {
			continue
		}
		found = true
		switch {
		case v.Secret == nil || v.Secret.SecretName != secret:
			return fmt.Errorf("Deployment %s/%s: volume %s is not Secret %s", ns, name, volume, secret)
		case v.Secret.Optional != nil && *v.Secret.Optional:
			return fmt.Errorf("Deployment %s/%s: volume %s is optional: a pod could start without it", ns, name, volume)
		}
	}
	if !found {
		return fmt.Errorf("Deployment %s/%s has no volume %s", ns, name, volume)
	}
	if !rollouts.Deployment(d) {
		return fmt.Errorf("Deployment %s/%s has not rolled out (%d replicas, %d of the latest template, %d available): kubectl rollout status deploy/%s -n %s",
			ns, name, d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, name, ns)
	}
	return nil
}

// PublishesRoot checks that ConfigMap ns/name (istio-ca-root-cert) holds root as root-cert.pem.
func PublishesRoot(ctx context.Context, client kubernetes.Interface, ns, name string, root []byte) error {
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !bytes.Equal(bytes.TrimSpace([]byte(cm.Data["root-cert.pem"])), bytes.TrimSpace(root)) {
		return fmt.Errorf("ConfigMap %s/%s: root-cert.pem is not the stack's root CA (istiod still signs with another CA; restart it: kubectl rollout restart deploy/istiod -n istio-system)", ns, name)
	}
	return nil
}

// firstCert is the first certificate of a PEM bundle.
func firstCert(bundle []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(bundle)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// NamesService checks that ConfigMap ns/configMap's key names a backend by text (its address)
// and that the backend is there: Service ns/service exists, exposes port, and has a ready
// endpoint. A dashboard wired to an address nothing answers shows empty panels, not an error.
func NamesService(ctx context.Context, client kubernetes.Interface, ns, configMap, key, text, service string, port int) error {
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, configMap, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("ConfigMap %s/%s: %w", ns, configMap, err)
	}
	if !strings.Contains(cm.Data[key], text) {
		return fmt.Errorf("ConfigMap %s/%s: %s does not name %s", ns, configMap, key, text)
	}
	svc, err := client.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("%s names Service %s/%s: %w", configMap, ns, service, err)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port }) {
		return fmt.Errorf("Service %s/%s has no port %d", ns, service, port)
	}
	endpoints, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return fmt.Errorf("the endpoints of Service %s/%s: %w", ns, service, err)
	}
	for _, s := range endpoints.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				return nil
			}
		}
	}
	return fmt.Errorf("Service %s/%s has no ready endpoint: is its pod running? (kubectl get pods -n %s)", ns, service, ns)
}

// LogsContain checks that a pod of Deployment ns/name logged, in container, a line containing
// text (an access log line).
func LogsContain(ctx context.Context, client kubernetes.Interface, ns, name, container, text string) error {
	d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("Deployment %s/%s: %w", ns, name, err)
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("Deployment %s/%s: %w", ns, name, err)
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return fmt.Errorf("the pods of Deployment %s/%s: %w", ns, name, err)
	}
	tail := int64(5000)
	for _, p := range pods.Items {
		raw, err := client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, TailLines: &tail}).DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("the logs of pod %s/%s: %w", ns, p.Name, err)
		}
		if strings.Contains(string(raw), text) {
			return nil
		}
	}
	return fmt.Errorf("no pod of Deployment %s/%s (%d) logged a line containing %q in its last %d lines", ns, name, len(pods.Items), text, tail)
}
