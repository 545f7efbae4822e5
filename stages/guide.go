package stages

import (
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// Guide is what a presenter says about a stage: the best practices it follows and why, and how
// to look into it when something is off.
type Guide struct {
	// Concepts are what the presenter explains before the stage (optional).
	Concepts  []string
	Practices []string
	Commands  []Command
}

// Command is one troubleshooting command, filled in with the workshop's real names.
type Command struct {
	Why  string
	Run  []string
	Mode config.MeshMode // "" in both modes
	// ReadOnly commands are the ones `workshop troubleshoot` runs by itself.
	ReadOnly bool
}

func cmd(why string, mode config.MeshMode, readOnly bool, run ...string) Command {
	return Command{Why: why, Run: run, Mode: mode, ReadOnly: readOnly}
}

// ingressDeploy is the ingress gateway's Deployment, as kubectl and istioctl name it.
const ingressDeploy = "deploy/" + names.IngressName

// Enforcement is one place where a stage's promise is kept: which part of the mesh checks what.
// Handouts draw each stage's diagram from these.
type Enforcement struct {
	Where EnforcementPoint
	What  string
	Mode  config.MeshMode // "" in both modes
}

// EnforcementPoint is a part of the mesh or the cluster that enforces something.
type EnforcementPoint string

// The enforcement points, in the order a request meets them (a diagram's left to right).
const (
	CertManager    EnforcementPoint = "cert-manager"
	Istiod         EnforcementPoint = "istiod"
	IngressGateway EnforcementPoint = "ingress gateway"
	Sidecar        EnforcementPoint = "sidecar"
	Waypoint       EnforcementPoint = "waypoint"
	Ztunnel        EnforcementPoint = "ztunnel"
	CNI            EnforcementPoint = "NetworkPolicy (CNI)"
	EgressGateway  EnforcementPoint = "egress gateway"
)

// EnforcementPoints are every point, in a diagram's order.
var EnforcementPoints = []EnforcementPoint{CertManager, Istiod, IngressGateway, Sidecar, Waypoint, Ztunnel, CNI, EgressGateway}
