package verify

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// certFor issues a certificate for name with issue (verify_test.go): a CA when isCA, signed by
// parent (self-signed when nil).
func certFor(t *testing.T, name string, isCA bool, parent *pair) *pair {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	return issue(t, parent, tmpl)
}

func caSecret(crt, key, ca []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istiod-ca", Namespace: "istio-system"},
		Data: map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": ca}}
}

// The intermediate's Secret passes only when it holds a CA, not the root, signed by the stack's
// root, with its own key and the root as ca.crt.
func TestIssuedByRootTellsAnIntermediateOfTheStacksRootFromEverythingElse(t *testing.T) {
	root := certFor(t, "workshop root", true, nil)
	other := certFor(t, "someone else's root", true, nil)
	good := certFor(t, "istiod intermediate", true, root)
	leaf := certFor(t, "not a CA", false, root)
	stranger := certFor(t, "intermediate of another root", true, other)
	for name, tc := range map[string]struct {
		secret *corev1.Secret
		want   string
	}{
		"the intermediate":                {caSecret(good.pem, good.kpem, root.pem), ""},
		"the root itself":                 {caSecret(root.pem, root.kpem, root.pem), "holds the root itself"},
		"a leaf certificate":              {caSecret(leaf.pem, leaf.kpem, root.pem), "is not a CA"},
		"another root's intermediate":     {caSecret(stranger.pem, stranger.kpem, root.pem), "does not chain"},
		"another root as ca.crt":          {caSecret(good.pem, good.kpem, other.pem), "ca.crt is not the stack's root"},
		"a key that is not the cert's":    {caSecret(good.pem, leaf.kpem, root.pem), "tls.key is not the key"},
		"no certificate yet (not issued)": {nil, "does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset()
			if tc.secret != nil {
				client = fake.NewClientset(tc.secret)
			}
			err := IssuedByRoot(context.Background(), client, "istio-system", "istiod-ca", root.pem)
			if tc.want == "" {
				assert.NoError(t, err)
			} else if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tc.want)
			}
		})
	}
}

// A dashboard's backend passes only when its config names it and it answers on that port: the
// Service is there, with the port, and a ready endpoint.
func TestNamesServiceNeedsTheAddressAndARunningBackend(t *testing.T) {
	config := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kiali", Namespace: "istio-system"},
		Data: map[string]string{"config.yaml": "external_services:\n  prometheus:\n    url: http://prometheus.istio-system:9090\n"}}
	service := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: "istio-system"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9090}}}}
	endpoints := func(ready bool) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-abcde", Namespace: "istio-system",
			Labels: map[string]string{discoveryv1.LabelServiceName: "prometheus"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
	}
	for name, tc := range map[string]struct {
		objects []runtime.Object
		text    string
		port    int
		want    string
	}{
		"named, running":       {[]runtime.Object{config, service, endpoints(true)}, "http://prometheus.istio-system:9090", 9090, ""},
		"another address":      {[]runtime.Object{config, service, endpoints(true)}, "http://prometheus.monitoring:9090", 9090, "does not name"},
		"no such port":         {[]runtime.Object{config, service, endpoints(true)}, "http://prometheus.istio-system:9090", 9091, "has no port 9091"},
		"its pod is not ready": {[]runtime.Object{config, service, endpoints(false)}, "http://prometheus.istio-system:9090", 9090, "no ready endpoint"},
		"no Service":           {[]runtime.Object{config}, "http://prometheus.istio-system:9090", 9090, "not found"},
		"no config":            {[]runtime.Object{service, endpoints(true)}, "http://prometheus.istio-system:9090", 9090, "ConfigMap istio-system/kiali"},
	} {
		t.Run(name, func(t *testing.T) {
			err := NamesService(context.Background(), fake.NewClientset(tc.objects...), "istio-system", "kiali", "config.yaml", tc.text, "prometheus", tc.port)
			if tc.want == "" {
				assert.NoError(t, err)
			} else if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tc.want)
			}
		})
	}
}

// The fake clientset's pods all log "fake logs": a text they hold passes, another does not.
func TestLogsContainReadsTheDeploymentsPods(t *testing.T) {
	labels := map[string]string{"istio": "ingressgateway"}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "istio-ingressgateway", Namespace: "istio-ingress"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "istio-ingressgateway-1", Namespace: "istio-ingress", Labels: labels}}
	client := fake.NewClientset(deploy, pod)
	assert.NoError(t, LogsContain(context.Background(), client, "istio-ingress", "istio-ingressgateway", "istio-proxy", "fake logs"))
	err := LogsContain(context.Background(), client, "istio-ingress", "istio-ingressgateway", "istio-proxy", `" 403 `)
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), `no pod of Deployment istio-ingress/istio-ingressgateway (1) logged a line containing "\" 403 "`)
	}
	err = LogsContain(context.Background(), fake.NewClientset(deploy), "istio-ingress", "istio-ingressgateway", "istio-proxy", "fake logs")
	assert.ErrorContains(t, err, "(0)", "no pod: nothing logged")
}
