package test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	workshoptokens "github.com/istio-workshop/istio-workshop/internal/tokens"
	"github.com/istio-workshop/istio-workshop/stages"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// stackOn is the config of a stack at stage n on an existing (shared) cluster, charts from the
// pinned modules.
func stackOn(kubeconfig string, stage, mode string) map[string]string {
	return map[string]string{
		"workshop:stage":           stage,
		"workshop:meshMode":        mode,
		"workshop:clusterProvider": "existing",
		"workshop:kubeconfig":      kubeconfig,
		"workshop:chartSource":     "module",
	}
}

// previewOps counts the operations a `preview --json` plans, by kind ("create", "update", ...),
// and lists the resources of every operation other than create and same.
func previewOps(t *testing.T, out string) (map[string]int, []string) {
	t.Helper()
	var preview struct {
		Steps []struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &preview), out)
	ops := map[string]int{}
	var other []string
	for _, s := range preview.Steps {
		ops[s.Op]++
		if s.Op != "create" && s.Op != "same" {
			other = append(other, s.Op+" "+s.URN)
		}
	}
	return ops, other
}

// TestStageWalk walks one live stack 0 -> 1 -> ... -> last and back to 0 on a shared local
// control plane in each mesh mode. Forward, every move only adds its stage (apart from the few
// updates a stage states: stage 2 adds HTTPS to the Gateway, stage 5 adds the beta route to the
// ingress VirtualService and, in ambient mode, the waypoint labels to the namespace, stage 8
// points istiod's CA volume at its intermediate); at the last stage the objects are in the
// cluster, verify's facts pass before and after a renewal of istiod's CA, the stack's tokens verify against the JWKS the ingress trusts,
// a re-preview is clean, a second up changes nothing, istioctl analyze finds no error, no key or
// token is in plain state. Back, every move only removes its stage (and undoes its updates);
// at stage 0 the cluster equals its snapshot, and so it does after destroy.
func TestStageWalk(t *testing.T) {
	harness.Require(t)
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel() // one control plane per mode: the two share the machine's two cores
			cp := harness.SharedControlPlane(t, "e2e-stages-"+mode, 2)
			kc := cp.KubeconfigPath()
			before := harness.Snapshot(t, kc)
			p := harness.NewProject(t)
			var every []string // every stage of the registry, in order
			for _, s := range stages.All() {
				every = append(every, strconv.Itoa(int(s.Number)))
				p.WriteStack("step"+every[len(every)-1], stackOn(kc, every[len(every)-1], mode))
			}
			last := every[len(every)-1]
			p.MustPulumi("stack", "init", "step0")
			p.MustPulumi("up", "--yes", "--stack", "step0")
			file := func(n string) string { return p.Dir + "/stacks/Pulumi.step" + n + ".yaml" }

			// Each move only adds its stage.
			updates := map[string][]string{
				"2": {"Gateway::bookinfo-bookinfo"},
				"5": {"VirtualService::bookinfo-bookinfo"},
			}
			if mode == "ambient" {
				updates["5"] = append(updates["5"], "Namespace::bookinfo")
			}
			// Stage 8 points istiod's cacerts volume at its intermediate CA.
			updates["8"] = []string{"Deployment::istiod:istio-system/istiod"}
			// Stage 9 declares the tracing backend in istiod's mesh config and has productpage's
			// own metrics scraped.
			updates["9"] = []string{"ConfigMap::istiod:istio-system/istio", "ConfigMap::istiod:istio-system/values", "Deployment::bookinfo-productpage-v1"}
			// Stage 10 has no object of its own: it routes reviews with stage 5's objects.
			updates["10"] = []string{"VirtualService::bookinfo-reviews", "DestinationRule::bookinfo-reviews"}
			// Stage 11 gives reviews' routes timeouts and retries, and its DestinationRule a circuit breaker.
			updates["11"] = []string{"VirtualService::bookinfo-reviews", "DestinationRule::bookinfo-reviews"}
			for _, n := range every[1:] {
				preview := p.MustPulumi("preview", "--json", "--stack", "step0", "--config-file", file(n))
				ops, other := previewOps(t, preview.Stdout)
				assert.Greater(t, ops["create"]+ops["update"], 0, "stage %s creates its resources (or changes the ones it states)", n)
				assert.Len(t, other, len(updates[n]), "moving to stage %s changes only what it states: %v", n, other)
				for _, o := range other {
					assert.True(t, strings.HasPrefix(o, "update ") && slices.ContainsFunc(updates[n], func(s string) bool { return strings.HasSuffix(o, s) }),
						"moving to stage %s: %s", n, o)
				}
				p.MustPulumi("up", "--yes", "--stack", "step0", "--config-file", file(n))
			}

			// The objects are in the cluster.
			deploys := harness.Kubectl(t, kc, "get", "deployments", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.readyReplicas} {end}")
			for _, d := range []string{"istio-system/istiod=1", "istio-ingress/istio-ingressgateway=1", "bookinfo/productpage-v1=1",
				"bookinfo/reviews-v3=1", "cert-manager/cert-manager=1", "outside-mesh/curl-client=1"} {
				assert.Contains(t, deploys, d)
			}
			daemonsets := harness.Kubectl(t, kc, "get", "daemonsets", "-n", "istio-system", "-o", "name")
			labels := harness.Kubectl(t, kc, "get", "namespace", "bookinfo", "-o", "jsonpath={.metadata.labels}")
			if mode == "ambient" {
				assert.Contains(t, daemonsets, "ztunnel")
				assert.Contains(t, daemonsets, "istio-cni-node")
				assert.Contains(t, labels, `"istio.io/dataplane-mode":"ambient"`)
			} else {
				assert.NotContains(t, daemonsets, "ztunnel")
				assert.Contains(t, labels, `"istio-injection":"enabled"`)
			}
			lb := harness.Kubectl(t, kc, "get", "service", "-n", "istio-ingress", "istio-ingressgateway", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
			assert.True(t, strings.HasPrefix(lb, "127.0.1."), "the ingress got a loopback load balancer address: %q", lb)
			assert.Equal(t, "STRICT", harness.Kubectl(t, kc, "get", "peerauthentications.security.istio.io", "-n", "istio-system", "default", "-o", "jsonpath={.spec.mtls.mode}"))
			assert.Equal(t, "workshop-ca", harness.Kubectl(t, kc, "get", "certificates.cert-manager.io", "-n", "istio-ingress", "bookinfo-ingress", "-o", "jsonpath={.spec.issuerRef.name}"))
			assert.Equal(t, "TLSV1_2", harness.Kubectl(t, kc, "get", "gateways.networking.istio.io", "-n", "bookinfo", "bookinfo", "-o", "jsonpath={.spec.servers[1].tls.minProtocolVersion}"))
			caInCluster := harness.Kubectl(t, kc, "get", "secret", "-n", "cert-manager", "workshop-root-ca", "-o", "jsonpath={.data.ca\\.crt}")

			var outputs map[string]any
			require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "output", "--json", "--stack", "step0").Stdout), &outputs))
			assert.Equal(t, "https://bookinfo.localhost/productpage", outputs["productPageUrl"])
			rootCA, _ := outputs["rootCa"].(string)
			assert.True(t, strings.HasPrefix(rootCA, "-----BEGIN CERTIFICATE-----"), "the root CA is an output for curl --cacert")
			assert.Equal(t, base64.StdEncoding.EncodeToString([]byte(rootCA)), caInCluster, "the issuer signs with that CA")
			loaded, err := stages.Load("step0", stackOn(kc, last, mode))
			require.NoError(t, err)
			assert.Equal(t, stages.Probes(loaded), p.Outputs(t, "step0").Probes, "the stack exports the last stage's probes, whole")

			// Stage 4: the ingress trusts the stack's JWKS; its tokens verify against it.
			jwks, _ := outputs["jwks"].(string)
			assert.JSONEq(t, jwks, harness.Kubectl(t, kc, "get", "requestauthentications.security.istio.io", "-n", "istio-ingress", "workshop-jwt", "-o", "jsonpath={.spec.jwtRules[0].jwks}"))
			assert.Equal(t, `["https://auth.istio-workshop.local/*"]`, harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-n", "istio-ingress", "require-jwt", "-o", "jsonpath={.spec.rules[0].from[0].source.requestPrincipals}"))
			assert.Equal(t, "[secret]", outputs["tokens"], "tokens are secret outputs")
			var tokens map[string]string
			require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "output", "tokens", "--show-secrets", "--json", "--stack", "step0").Stdout), &tokens))
			verify := func(name string) (workshoptokens.Claims, error) {
				return workshoptokens.Verify(tokens[name], jwks, "https://auth.istio-workshop.local", "bookinfo", time.Now())
			}
			for _, persona := range []string{"alice", "bob", "carol"} {
				c, err := verify(persona)
				if assert.NoError(t, err, persona) {
					assert.Equal(t, persona, c.Subject)
				}
			}
			// The presenter's CLI prints one token, read through the Automation API.
			cli := p.Workshop("token", "alice", "--stack", "step0")
			require.NoError(t, cli.Err, cli.String())
			assert.Equal(t, tokens["alice"]+"\n", cli.Stdout)

			_, err = verify("expired")
			assert.ErrorIs(t, err, jwtv5.ErrTokenExpired)
			_, err = verify("forged")
			assert.ErrorIs(t, err, jwtv5.ErrTokenSignatureInvalid)

			// Stage 5: deny by default, allow by identity, the claim route, the waypoint in ambient.
			policies := harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}")
			for _, ap := range []string{"bookinfo/deny-all", "bookinfo/allow-productpage", "bookinfo/allow-details", "bookinfo/allow-reviews",
				"bookinfo/allow-ratings", "bookinfo/dry-run-deny-details", "istio-ingress/require-jwt", "istio-ingress/require-reader-group", "istio-ingress/deny-product-api"} {
				assert.Contains(t, policies, ap)
			}
			assert.Equal(t, "true", harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-n", "bookinfo", "dry-run-deny-details", "-o", `jsonpath={.metadata.annotations.istio\.io/dry-run}`))
			assert.Equal(t, "v3", harness.Kubectl(t, kc, "get", "virtualservices.networking.istio.io", "-n", "bookinfo", "reviews", "-o", "jsonpath={.spec.http[0].route[0].destination.subset}"))
			gatewayAPI := harness.Kubectl(t, kc, "get", "customresourcedefinitions", "gateways.gateway.networking.k8s.io", "-o", "name", "--ignore-not-found")
			labels = harness.Kubectl(t, kc, "get", "namespace", "bookinfo", "-o", "jsonpath={.metadata.labels}")
			if mode == "ambient" {
				assert.Contains(t, policies, "bookinfo/ztunnel-only-waypoint")
				require.NotEmpty(t, gatewayAPI, "the Gateway API CRDs are installed for the waypoint")
				assert.Equal(t, "istio-waypoint", harness.Kubectl(t, kc, "get", "gateways.gateway.networking.k8s.io", "-n", "bookinfo", "waypoint", "-o", "jsonpath={.spec.gatewayClassName}"))
				assert.Contains(t, labels, `"istio.io/use-waypoint":"waypoint"`)
				assert.Equal(t, "Service", harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-n", "bookinfo", "allow-ratings", "-o", "jsonpath={.spec.targetRefs[0].kind}"))
			} else {
				assert.NotContains(t, policies, "ztunnel-only-waypoint")
				assert.Empty(t, gatewayAPI, "no waypoint and no Gateway API in sidecar mode")
				assert.Equal(t, "ratings", harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-n", "bookinfo", "allow-ratings", "-o", "jsonpath={.spec.selector.matchLabels.app}"))
			}

			// Stage 6: registered hosts only, through the egress gateway.
			assert.Equal(t, "httpbin.org", harness.Kubectl(t, kc, "get", "serviceentries.networking.istio.io", "-n", "istio-egress", "httpbin-org", "-o", "jsonpath={.spec.hosts[0]}"))
			assert.Contains(t, harness.Kubectl(t, kc, "get", "deployments", "-n", "egress-demo", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas} {end}"), "curl-client=1")
			netpols := harness.Kubectl(t, kc, "get", "networkpolicies", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}")
			if mode == "ambient" {
				assert.Equal(t, "egress-gateway", harness.Kubectl(t, kc, "get", "serviceentries.networking.istio.io", "-n", "istio-egress", "httpbin-org", "-o", `jsonpath={.metadata.labels.istio\.io/use-waypoint}`))
				assert.Equal(t, "istio-waypoint", harness.Kubectl(t, kc, "get", "gateways.gateway.networking.k8s.io", "-n", "istio-egress", "egress-gateway", "-o", "jsonpath={.spec.gatewayClassName}"))
				assert.Equal(t, "15008", harness.Kubectl(t, kc, "get", "networkpolicies", "-n", "egress-demo", "egress-through-the-mesh", "-o", "jsonpath={.spec.egress[2].ports[0].port}"),
					"ztunnel ignores REGISTRY_ONLY: the egress client may leave only to the egress waypoint")
			} else {
				assert.Equal(t, "REGISTRY_ONLY", harness.Kubectl(t, kc, "get", "sidecars.networking.istio.io", "-n", "istio-system", "default", "-o", "jsonpath={.spec.outboundTrafficPolicy.mode}"))
				assert.Contains(t, harness.Kubectl(t, kc, "get", "deployments", "-n", "istio-egress", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas} {end}"), "egress-gateway=1")
				assert.Equal(t, "ClusterIP", harness.Kubectl(t, kc, "get", "service", "-n", "istio-egress", "egress-gateway", "-o", "jsonpath={.spec.type}"))
				assert.Equal(t, "egress-gateway.istio-egress.svc.cluster.local", harness.Kubectl(t, kc, "get", "virtualservices.networking.istio.io", "-n", "istio-egress", "httpbin-org", "-o", "jsonpath={.spec.tls[0].route[0].destination.host}"))
			}
			// Stage 7: default deny in every workload namespace, then what the mesh needs.
			for _, np := range []string{"bookinfo/default-deny", "bookinfo/ingress-from-the-mesh", "bookinfo/egress-through-the-mesh",
				"egress-demo/default-deny", "egress-demo/egress-through-the-mesh"} {
				assert.Contains(t, netpols, np)
			}
			meshPort := map[string]string{"ambient": "15008", "sidecar": "9080"}[mode]
			assert.Equal(t, meshPort, harness.Kubectl(t, kc, "get", "networkpolicies", "-n", "bookinfo", "ingress-from-the-mesh", "-o", "jsonpath={.spec.ingress[0].ports[0].port}"))

			// Stage 8: cert-manager (its controllers run on the local control plane) issued istiod's
			// intermediate from the workshop root; istiod mounts it; verify reads both from the
			// cluster. A renewal (as `cmctl renew` triggers it) gives a new key and certificate,
			// and the chain still verifies.
			assert.Equal(t, "True", harness.Kubectl(t, kc, "get", "certificates.cert-manager.io", "-n", "istio-system", "istiod-ca", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`))
			assert.Equal(t, "istiod-ca", harness.Kubectl(t, kc, "get", "deployment", "-n", "istio-system", "istiod", "-o", `jsonpath={.spec.template.spec.volumes[?(@.name=="cacerts")].secret.secretName}`))
			// The pods holding workload certificates restarted once istiod ran on the new CA.
			restartedAt := func() string {
				return harness.Kubectl(t, kc, "get", "deployment", "-n", "istio-ingress", "istio-ingressgateway", "-o", `jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}`)
			}
			onNewCA := restartedAt()
			assert.NotEmpty(t, onNewCA, "the ingress gateway restarted after istiod moved to the intermediate")
			verified := p.Workshop("verify", "--objects-only", "--stack", "step0")
			require.NoError(t, verified.Err, verified.String())
			assert.Contains(t, verified.Stdout, "pass     stage 8: istiod's intermediate CA is issued by the workshop root")
			assert.Contains(t, verified.Stdout, "pass     stage 8: istiod runs with the intermediate mounted")
			firstCA := harness.Kubectl(t, kc, "get", "secret", "-n", "istio-system", "istiod-ca", "-o", `jsonpath={.data.tls\.crt}`)
			harness.Kubectl(t, kc, "patch", "certificates.cert-manager.io", "istiod-ca", "-n", "istio-system", "--subresource=status", "--type=merge", "-p",
				`{"status":{"conditions":[{"type":"Issuing","status":"True","reason":"ManuallyTriggered","message":"renewed by the walk test","lastTransitionTime":"`+time.Now().UTC().Format(time.RFC3339)+`"}]}}`)
			// cert-manager writes the Secret first and the Certificate's revision after it: wait
			// for the revision, then the Secret holds the renewal.
			require.Eventually(t, func() bool {
				return harness.Kubectl(t, kc, "get", "certificates.cert-manager.io", "-n", "istio-system", "istiod-ca", "-o", "jsonpath={.status.revision}") == "2"
			}, time.Minute, time.Second, "cert-manager renews istiod's CA (revision 2)")
			assert.NotEqual(t, firstCA, harness.Kubectl(t, kc, "get", "secret", "-n", "istio-system", "istiod-ca", "-o", `jsonpath={.data.tls\.crt}`), "the renewal is a new certificate")
			verified = p.Workshop("verify", "--objects-only", "--stack", "step0")
			require.NoError(t, verified.Err, "after the renewal: %s", verified.String())

			// Stage 9: the addons run; each dashboard and istiod's tracing provider name a backend
			// that runs (verify's facts); the Telemetry holds the settings; productpage asks to be
			// scraped; in ambient mode the addons that query Prometheus are in the mesh with it.
			for _, fact := range []string{"Kiali reads metrics from Prometheus, which runs", "Kiali reads traces from Jaeger, which runs",
				"Grafana's data source is Prometheus, which runs", "istiod's tracing provider is Jaeger's Zipkin endpoint, which runs"} {
				assert.Contains(t, verified.Stdout, "pass     stage 9: "+fact)
			}
			assert.Contains(t, verified.Stdout, "skipped  stage 9: the ingress gateway logged a refused request (403)")
			for _, d := range []string{"istio-system/prometheus=1", "istio-system/grafana=1", "istio-system/kiali=1", "istio-system/jaeger=1"} {
				assert.Contains(t, harness.Kubectl(t, kc, "get", "deployments", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.readyReplicas} {end}"), d)
			}
			assert.Equal(t, "1 response.code >= 400", harness.Kubectl(t, kc, "get", "telemetries.telemetry.istio.io", "-n", "istio-system", "mesh-default", "-o",
				"jsonpath={.spec.tracing[0].randomSamplingPercentage} {.spec.accessLogging[0].filter.expression}"))
			assert.Equal(t, "true", harness.Kubectl(t, kc, "get", "deployment", "-n", "bookinfo", "productpage-v1", "-o", `jsonpath={.spec.template.metadata.annotations.prometheus\.io/scrape}`))
			enrolled := harness.Kubectl(t, kc, "get", "deployments", "-n", "istio-system", "prometheus", "grafana", "kiali", "jaeger", "-o", `jsonpath={range .items[*]}{.spec.template.metadata.labels.istio\.io/dataplane-mode}/{end}`)
			if mode == "ambient" {
				assert.Equal(t, "ambient/ambient/ambient//", enrolled, "Prometheus, Grafana and Kiali in the mesh, Jaeger not")
			} else {
				assert.Equal(t, "////", enrolled, "sidecar mode: the addons stay outside the mesh")
			}

			// Moving the canary is one setting, and its preview changes the weights of one route.
			canary := stackOn(kc, last, mode)
			canary["workshop:reviewsWeights"] = "v1=50,v2=50"
			p.WriteStack("canary", canary)
			moved := p.MustPulumi("preview", "--json", "--diff", "--stack", "step0", "--config-file", p.Dir+"/stacks/Pulumi.canary.yaml")
			var canaryPreview struct {
				Steps []struct {
					Op           string         `json:"op"`
					URN          string         `json:"urn"`
					DetailedDiff map[string]any `json:"detailedDiff"`
				} `json:"steps"`
			}
			require.NoError(t, json.Unmarshal([]byte(moved.Stdout), &canaryPreview), moved.Stdout)
			var changed, fields []string
			for _, st := range canaryPreview.Steps {
				if st.Op != "same" {
					changed = append(changed, st.Op+" "+st.URN[strings.LastIndex(st.URN, "::")+2:])
					for f := range st.DetailedDiff {
						fields = append(fields, f)
					}
				}
			}
			assert.Equal(t, []string{"update bookinfo-reviews"}, changed, "moving the canary updates reviews' VirtualService only")
			slices.Sort(fields)
			assert.Equal(t, []string{"spec.http[2].route[0].weight", "spec.http[2].route[1].weight"}, fields, "and only its weights")

			// Stage 11: the faults are for beta testers only, and reviews' callers are bounded.
			assert.Equal(t, "beta-testers 7s", harness.Kubectl(t, kc, "get", "virtualservices.networking.istio.io", "-n", "bookinfo", "ratings", "-o", "jsonpath={.spec.http[0].match[0].headers.jwt.exact} {.spec.http[0].fault.delay.fixedDelay}"))
			assert.Equal(t, "3s 1s 1", harness.Kubectl(t, kc, "get", "destinationrules.networking.istio.io,virtualservices.networking.istio.io", "-n", "bookinfo", "reviews", "-o",
				"jsonpath={.items[1].spec.http[2].timeout} {.items[1].spec.http[2].retries.perTryTimeout} {.items[0].spec.trafficPolicy.connectionPool.tcp.maxConnections}"))

			// Istio's own analyzers find no error in what the stages applied.
			report, clean := harness.Analyze(t, kc)
			t.Logf("istioctl analyze:\n%s", report)
			assert.True(t, clean, "istioctl analyze reports errors:\n%s", report)

			export := p.MustPulumi("stack", "export", "--stack", "step0")
			assert.NotContains(t, export.Stdout, "PRIVATE KEY", "no private key in plain state")
			for name, tok := range tokens {
				assert.NotContains(t, export.Stdout, tok, "the %s token is not in plain state", name)
			}

			// Switching the data-plane mode in place is refused before anything changes.
			other := map[string]string{"ambient": "sidecar", "sidecar": "ambient"}[mode]
			p.WriteStack("switch", stackOn(kc, last, other))
			for _, cmd := range [][]string{{"preview"}, {"up", "--yes", "--skip-preview"}} {
				r := p.Pulumi(append(cmd, "--stack", "step0", "--config-file", p.Dir+"/stacks/Pulumi.switch.yaml")...)
				require.Error(t, r.Err, r.String())
				assert.Contains(t, r.Stdout+r.Stderr, "in place is not supported")
			}

			// The policy pack runs on the preview and finds nothing to stop.
			pol := p.MustPulumi("preview", "--expect-no-changes", "--stack", "step0", "--config-file", file(last), "--policy-pack", harness.Root()+"/policies")
			assert.Contains(t, pol.Stdout, "istio-workshop@v1.0.0", "the pack ran")
			assert.NotContains(t, pol.Stdout, "[mandatory]")
			assert.NotContains(t, pol.Stdout, "[advisory]")
			again := p.MustPulumi("up", "--yes", "--stack", "step0", "--config-file", file(last))
			assert.NotContains(t, again.Stdout, "updated")
			assert.NotContains(t, again.Stdout, "replaced")

			// Back to 0: each move only removes its stage (and undoes the updates it stated).
			for n := int(stages.Last()); n >= 1; n-- {
				prev := strconv.Itoa(n - 1)
				preview := p.MustPulumi("preview", "--json", "--stack", "step0", "--config-file", file(prev))
				ops, other := previewOps(t, preview.Stdout)
				assert.Zero(t, ops["create"], "moving back to stage %s creates nothing", prev)
				assert.Greater(t, ops["delete"]+ops["update"], 0, "moving back to stage %s deletes stage %d (or undoes the updates it stated)", prev, n)
				for _, o := range other {
					if strings.HasPrefix(o, "delete ") {
						continue
					}
					assert.True(t, strings.HasPrefix(o, "update ") && slices.ContainsFunc(updates[strconv.Itoa(n)], func(s string) bool { return strings.HasSuffix(o, s) }),
						"moving back to stage %s: %s", prev, o)
				}
				p.MustPulumi("up", "--yes", "--stack", "step0", "--config-file", file(prev))
				if n == 8 {
					// istiod is back on its optional cacerts volume (its self-signed CA), and the
					// intermediate's key left with its Certificate.
					assert.Equal(t, "cacerts", harness.Kubectl(t, kc, "get", "deployment", "-n", "istio-system", "istiod", "-o", `jsonpath={.spec.template.spec.volumes[?(@.name=="cacerts")].secret.secretName}`))
					assert.NotEqual(t, onNewCA, restartedAt(), "and restarted again once istiod was back on its own CA")
					assert.Eventually(t, func() bool {
						return harness.Kubectl(t, kc, "get", "secret", "-n", "istio-system", "istiod-ca", "--ignore-not-found", "-o", "name") == ""
					}, time.Minute, time.Second, "the intermediate's Secret goes with its Certificate")
				}
			}
			p.MustPulumi("preview", "--expect-no-changes", "--stack", "step0", "--config-file", file("0"))
			assert.Equal(t, before, harness.Snapshot(t, kc), "back at stage 0, the cluster is as it was before stage 1")

			p.MustPulumi("destroy", "--yes", "--stack", "step0")
			assert.Equal(t, before, harness.Snapshot(t, kc), "destroy leaves no namespace, CRD, webhook or cluster-scoped object behind")
		})
	}
}
