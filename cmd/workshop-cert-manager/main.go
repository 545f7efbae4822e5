// Command workshop-cert-manager runs cert-manager's own controllers for the CA and self-signed
// issuers, built from the pinned cert-manager module's packages, as a process of the local control
// plane (infra/controlplane). There the cert-manager chart's pods are simulated and never run, so
// without this no Certificate would ever be issued; with it, Certificates become Ready, their
// Secrets appear and renew, exactly as cert-manager's controller would do them, and a stage's
// verify can check real certificate chains.
//
// It waits until the cert-manager.io API exists (the CRDs come with stage 2), runs the
// controllers, and starts over (re-executing itself) when the API goes away.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"         // registers the CA issuer
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned" // registers the self-signed issuer
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
)

// controllers are the cert-manager controllers a CA or self-signed issuer needs, by their
// registered names.
var controllers = []string{
	issuers.ControllerName, clusterissuers.ControllerName,
	approver.ControllerName, crca.CRControllerName, crselfsigned.CRControllerName,
	trigger.ControllerName, keymanager.ControllerName, requestmanager.ControllerName,
	issuing.ControllerName, readiness.ControllerName, revisionmanager.ControllerName,
}

// clusterResourceNamespace is where a ClusterIssuer's Secrets are read from (the chart's default).
const clusterResourceNamespace = "cert-manager"

func main() {
	kubeconfig := flag.String("kubeconfig", "", "admin kubeconfig of the control plane")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "workshop-cert-manager:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	// until waits, polling every two seconds, until the API's presence is want; false when ctx
	// ends first.
	until := func(want bool) bool {
		for {
			_, err := disco.ServerResourcesForGroupVersion("cert-manager.io/v1")
			if (err == nil) == want {
				return true
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(2 * time.Second):
			}
		}
	}
	if !until(true) {
		return nil
	}
	running, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := start(running, kubeconfig); err != nil {
		return err
	}
	if !until(false) {
		return nil
	}
	// The CRDs are gone (a destroy or a walk back below stage 2): start over with fresh informers,
	// in the same process (the control plane tracks its PID).
	cancel()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(self, os.Args, os.Environ())
}

// start builds cert-manager's controller context and runs every controller of the list, as
// cert-manager's own controller binary does.
func start(ctx context.Context, kubeconfig string) error {
	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: clusterResourceNamespace},
		CertificateOptions: controllerpkg.CertificateOptions{
			EnableOwnerRef:                           true, // as the stage 2 chart sets it
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
	if err != nil {
		return err
	}
	for _, name := range controllers {
		construct, ok := controllerpkg.Known()[name]
		if !ok {
			return fmt.Errorf("cert-manager has no controller %q", name)
		}
		c, err := construct(factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		go func() {
			if err := c.Run(2, ctx); err != nil {
				fmt.Fprintf(os.Stderr, "workshop-cert-manager: controller %s: %v\n", name, err)
			}
		}()
	}
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	return nil
}
