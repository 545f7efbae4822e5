package provider

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// clientFor makes a client for context (or the current context) of a kubeconfig document.
func clientFor(kubeconfig []byte, context string) (*kubernetes.Clientset, error) {
	rc, err := restConfig(kubeconfig, context, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// restConfig is the client configuration of context (or the current one) of a kubeconfig
// document, each request bounded by timeout.
func restConfig(kubeconfig []byte, context string, timeout time.Duration) (*rest.Config, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig: %w", err)
	}
	if context != "" {
		if _, ok := cfg.Contexts[context]; !ok {
			return nil, fmt.Errorf("kubeconfig has no context %q", context)
		}
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, err
	}
	rc.Timeout = timeout
	return rc, nil
}

// ping asks the API server for its version: the cheapest request that proves it answers.
func ping(ctx context.Context, client kubernetes.Interface) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	var version string
	var err error
	go func() {
		defer close(done)
		v, e := client.Discovery().ServerVersion()
		if e == nil {
			version = v.GitVersion
		}
		err = e
	}()
	select {
	case <-done:
		return version, err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
