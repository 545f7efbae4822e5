package test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestFaults takes one ambient stack, on one control plane that also holds an object that is
// not ours, through the faults a presenter meets:
//  1. `pulumi up` of stage 5 killed with SIGKILL at a random point: the documented recovery
//     (`workshop recover`) converges to a clean stage 5;
//  2. stage 6 with a bad setting: refused before anything changes;
//  3. stage 6 refused by the cluster half-way (an admission policy rejects its ServiceEntry, as a
//     cluster's policy engine would): the up fails, stages 1–5 are untouched (no object's
//     generation moved) and still ready; once the policy is gone, the up converges;
//  4. the API server killed during the up of stage 7 and started again: the next up converges;
//
// then destroy returns the cluster to its snapshot with what was not ours intact.
func TestFaults(t *testing.T) {
	harness.Require(t)
	cp := harness.SharedControlPlane(t, "e2e-faults", 1)
	kc := cp.KubeconfigPath()
	// Not ours, in a default namespace (stage 0 refuses a cluster with other namespaces).
	harness.Kubectl(t, kc, "create", "configmap", "-n", "default", "keep-me", "--from-literal=k=v")
	before := harness.Snapshot(t, kc)

	p := harness.NewProject(t)
	for _, n := range []string{"5", "6", "7"} {
		p.WriteStack("step"+n, stackOn(kc, n, "ambient"))
	}
	p.MustPulumi("stack", "init", "step5")
	file := func(n string) string { return filepath.Join(p.Dir, "stacks", "Pulumi.step"+n+".yaml") }

	t.Run("killed up, then recover", func(t *testing.T) {
		after := time.Duration(10+rand.IntN(40)) * time.Second
		t.Logf("killing pulumi up %s after it starts", after)
		run := p.Start("up", "--yes", "--stack", "step5")
		time.Sleep(after)
		require.Nil(t, run.Cmd.ProcessState, "the up was still running when killed:\n%s", run.Stdout)
		run.Kill()
		t.Logf("output when killed:\n%s", tail(run.Stdout.String(), 15))

		r := p.Workshop("recover", "--stack", "step5")
		require.NoError(t, r.Err, r.String())
		p.MustPulumi("preview", "--expect-no-changes", "--stack", "step5")
		deploys := harness.Kubectl(t, kc, "get", "deployments", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.readyReplicas} {end}")
		for _, d := range []string{"istio-system/istiod=1", "bookinfo/productpage-v1=1", "cert-manager/cert-manager=1"} {
			assert.Contains(t, deploys, d)
		}
		assert.Contains(t, harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-n", "bookinfo", "-o", "name"), "deny-all")
	})
	stage5 := generations(t, kc)
	require.NotEmpty(t, stage5)

	t.Run("bad setting at stage 6 changes nothing", func(t *testing.T) {
		bad := stackOn(kc, "6", "ambient")
		bad["workshop:egressHosts"] = "https://httpbin.org"
		p.WriteStack("bad6", bad)
		r := p.Pulumi("up", "--yes", "--stack", "step5", "--config-file", filepath.Join(p.Dir, "stacks", "Pulumi.bad6.yaml"))
		require.Error(t, r.Err)
		assert.Contains(t, r.Stdout+r.Stderr, "egressHosts")
		p.MustPulumi("preview", "--expect-no-changes", "--stack", "step5")
		assert.Equal(t, stage5, generations(t, kc))
	})

	t.Run("stage 6 refused half-way leaves stages 1-5 running", func(t *testing.T) {
		harness.KubectlApply(t, kc, refuseServiceEntries)
		r := p.Pulumi("up", "--yes", "--stack", "step5", "--config-file", file("6"))
		require.Error(t, r.Err, "the cluster refuses the ServiceEntry")
		assert.Contains(t, r.Stdout+r.Stderr, "workshop-test-refuses-service-entries")
		after := generations(t, kc)
		for obj, gen := range stage5 {
			assert.Equal(t, gen, after[obj], "%s is untouched", obj)
		}
		deploys := harness.Kubectl(t, kc, "get", "deployments", "-n", "bookinfo", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas} {end}")
		assert.Contains(t, deploys, "productpage-v1=1")
		assert.Equal(t, "STRICT", harness.Kubectl(t, kc, "get", "peerauthentications.security.istio.io", "-n", "istio-system", "default", "-o", "jsonpath={.spec.mtls.mode}"))

		harness.Kubectl(t, kc, "delete", "validatingadmissionpolicybindings,validatingadmissionpolicies", "workshop-test-refuses-service-entries")
		p.MustPulumi("up", "--yes", "--stack", "step5", "--config-file", file("6"))
		p.MustPulumi("preview", "--expect-no-changes", "--stack", "step5", "--config-file", file("6"))
		assert.Equal(t, "httpbin.org", harness.Kubectl(t, kc, "get", "serviceentries.networking.istio.io", "-n", "istio-egress", "httpbin-org", "-o", "jsonpath={.spec.hosts[0]}"))
	})

	t.Run("API server killed during an up, started again", func(t *testing.T) {
		run := p.Start("up", "--yes", "--stack", "step5", "--config-file", file("7"))
		require.Eventually(t, func() bool {
			out := run.Stdout.String()
			return strings.Contains(out, "NetworkPolicy") && strings.Contains(out, "creating")
		}, 3*time.Minute, 100*time.Millisecond, "the up starts creating stage 7:\n%s", run.Stdout)
		killProcess(t, cp.Dir, "kube-apiserver")
		time.Sleep(5 * time.Second)
		require.NoError(t, cp.Start(context.Background()), "the control plane resumes")
		err := run.Cmd.Wait()
		t.Logf("the up during which the API server died: err=%v\n%s", err, tail(run.Stdout.String(), 12))

		p.MustPulumi("up", "--yes", "--stack", "step5", "--config-file", file("7"))
		p.MustPulumi("preview", "--expect-no-changes", "--stack", "step5", "--config-file", file("7"))
		assert.Contains(t, harness.Kubectl(t, kc, "get", "networkpolicies", "-n", "bookinfo", "-o", "name"), "default-deny")
		assert.Equal(t, "v", harness.Kubectl(t, kc, "get", "configmap", "-n", "default", "keep-me", "-o", "jsonpath={.data.k}"), "the API server's data is kept")
	})

	p.MustPulumi("destroy", "--yes", "--stack", "step5")
	assert.Equal(t, before, harness.Snapshot(t, kc), "destroy after the faults leaves the cluster as it was")
	assert.Equal(t, "v", harness.Kubectl(t, kc, "get", "configmap", "-n", "default", "keep-me", "-o", "jsonpath={.data.k}"), "what was not ours is intact")
}

// refuseServiceEntries is a built-in admission policy (CEL, no webhook) that rejects every
// ServiceEntry: the cluster refusing one stage-6 object, the way Kyverno or Gatekeeper would.
const refuseServiceEntries = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: workshop-test-refuses-service-entries}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [networking.istio.io]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE]
      resources: [serviceentries]
  validations:
  - expression: "false"
    message: refused by workshop-test-refuses-service-entries
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: workshop-test-refuses-service-entries}
spec:
  policyName: workshop-test-refuses-service-entries
  validationActions: [Deny]
`

// generations maps every object of the kinds the stages make ("kind ns/name") to its
// metadata.generation, which moves only when its spec does (status updates do not).
func generations(t *testing.T, kubeconfig string) map[string]string {
	t.Helper()
	out := harness.Kubectl(t, kubeconfig, "get",
		"deployments,daemonsets,services,peerauthentications.security.istio.io,authorizationpolicies.security.istio.io,"+
			"requestauthentications.security.istio.io,virtualservices.networking.istio.io,gateways.networking.istio.io,"+
			"destinationrules.networking.istio.io,certificates.cert-manager.io,clusterissuers.cert-manager.io",
		"-A", "-o", `jsonpath={range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name}={.metadata.generation}{"\n"}{end}`)
	gens := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if obj, gen, ok := strings.Cut(line, "="); ok {
			gens[obj] = gen
		}
	}
	return gens
}

// killProcess sends SIGKILL to one process of a local control plane (its pid from state.json).
func killProcess(t *testing.T, dir, name string) {
	t.Helper()
	pid := harness.ReadControlPlaneState(t, dir).PIDs[name]
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
