package config

// Stage is a workshop stage; stage N puts stages 0..N in force.
type Stage int

// StageInfo describes one stage. This table is the only place stage numbers are given meaning.
type StageInfo struct {
	Stage   Stage
	Name    string // short name used in resource names and CLI output
	Title   string
	Promise string // what a participant can rely on once the stage is applied
	// Available is false for a stage whose components are not built yet: the program refuses it
	// rather than apply a lower stage under its name.
	Available bool
}

// Stages is the table of stages, in order.
var Stages = []StageInfo{
	{0, "clean-cluster", "A clean cluster", "the cluster is in its default state: nodes ready, no Istio, default namespaces only", true},
	{1, "mesh", "Istio, Bookinfo and HTTP ingress", "Bookinfo runs in the mesh and answers through the ingress gateway over HTTP", true},
	{2, "ingress-tls", "Ingress TLS from cert-manager", "the ingress serves HTTPS (TLS >= 1.2) with a certificate issued by the workshop CA", true},
	{3, "strict-mtls", "Mesh-wide STRICT mTLS", "workloads accept only mutual TLS; plaintext callers from outside the mesh are refused", true},
	{4, "end-user-auth", "End-user JWT authentication", "every ingress request needs a valid JWT issued by the stack", true},
	{5, "authorization", "Authorization policies", "only the right principal with the right groups claim is allowed; everything else is denied", true},
	{6, "egress-gateway", "Egress gateway", "outbound traffic leaves only through the egress gateway, to registered hosts", true},
	{7, "network-policy", "NetworkPolicy", "pods accept and open only the connections the mesh needs", true},
}

// AvailableUpTo is the highest stage this version can apply.
func AvailableUpTo() Stage {
	last := Stage(0)
	for _, s := range Stages {
		if !s.Available {
			break
		}
		last = s.Stage
	}
	return last
}

// MaxStage is the highest stage this version of the workshop knows.
var MaxStage = Stages[len(Stages)-1].Stage

// Info returns the table entry of s.
func (s Stage) Info() StageInfo { return Stages[s] }

// Includes reports whether stage s puts stage other in force (stages are cumulative).
func (s Stage) Includes(other Stage) bool { return other <= s }
