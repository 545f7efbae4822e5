package stages

import "github.com/istio-workshop/istio-workshop/internal/config"

// Fact is a check of a stage's promise that reads the cluster instead of sending traffic, so
// verify runs it on every cluster, the local control plane included, unless RealCluster: then it
// reads what a running Istio writes, which the local control plane (where no container runs)
// never has.
type Fact struct {
	Stage config.Stage
	Name  string
	Kind  FactKind
	// Namespace and Object are what the fact reads: a Secret (IssuedByRoot), a Deployment
	// (MountsSecret), a ConfigMap (PublishesRoot).
	Namespace, Object string
	// Volume and Secret: the Deployment's volume and the Secret it must mount (MountsSecret).
	Volume, Secret string
	// Key and Text: the ConfigMap's key and the address it must name (NamesService), or the
	// Deployment's container (Key) and the text its log must hold (LogsContain).
	Key, Text string
	// Service and Port: the backend that address must reach (NamesService).
	Service string
	Port    int
	// RealCluster: what a running Istio writes or logs, which the local control plane never has.
	RealCluster bool
	// AfterTraffic: read once verify's probes have sent their requests (what they leave behind).
	AfterTraffic bool
}

// FactKind is what a Fact checks.
type FactKind string

const (
	// IssuedByRoot: the Secret (cert-manager's layout: tls.crt, tls.key, ca.crt) holds a CA
	// certificate, not a root, that the stack's root CA signed; ca.crt is that root; the key is
	// the certificate's.
	IssuedByRoot FactKind = "issued-by-root"
	// MountsSecret: the Deployment's Volume is the Secret, required, and its rollout is complete.
	MountsSecret FactKind = "mounts-secret"
	// PublishesRoot: the ConfigMap's root-cert.pem is the stack's root CA (the root istiod hands
	// every workload, in istio-ca-root-cert).
	PublishesRoot FactKind = "publishes-root"
	// NamesService: the ConfigMap's Key names Text (a backend's address), and Service exists,
	// exposes Port and has a ready endpoint.
	NamesService FactKind = "names-service"
	// LogsContain: a pod of the Deployment logged, in container Key, a line containing Text.
	LogsContain FactKind = "logs-contain"
)

// Facts are the facts of the stages in force for c.
func Facts(c config.Config) []Fact {
	var facts []Fact
	for _, s := range InForce(c) {
		if s.Facts != nil {
			facts = append(facts, s.Facts(c)...)
		}
	}
	return facts
}
