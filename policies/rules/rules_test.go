package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/mockstack"
	"github.com/istio-workshop/istio-workshop/internal/workshop"
	"github.com/istio-workshop/istio-workshop/policies/objects"
	"github.com/istio-workshop/istio-workshop/stages"
)

// stackObjects runs the workshop program (against mocks) and returns its Kubernetes objects as
// the pack sees them.
func stackObjects(t *testing.T, values map[string]string) []Object {
	t.Helper()
	s, err := mockstack.Run(t, workshop.Program, "policy", values)
	require.NoError(t, err)
	var objs []Object
	for key, inputs := range s.Resources {
		typ, name, _ := strings.Cut(key, " ")
		if o, ok := objects.NewObject("urn:"+name, typ, objects.Plain(resource.FromResourcePropertyMap(inputs))); ok {
			objs = append(objs, o)
		}
	}
	return objs
}

func check(objs []Object) []Violation {
	var out []Violation
	for _, r := range Rules {
		for _, v := range r.Check(objs) {
			out = append(out, Violation{v.URN, r.Name + ": " + v.Message})
		}
	}
	return out
}

func TestTheProjectsStacksPass(t *testing.T) {
	variants := []map[string]string{{}, {"workshop:ingressMutualTLS": "true"}, {"workshop:plainHTTP": "closed"}}
	for _, mode := range []string{"ambient", "sidecar"} {
		for stage := 0; stage <= int(stages.Last()); stage++ {
			for _, extra := range variants {
				values := map[string]string{"workshop:stage": fmt.Sprint(stage), "workshop:meshMode": mode}
				for k, v := range extra {
					values[k] = v
				}
				objs := stackObjects(t, values)
				assert.Empty(t, check(objs), "%v", values)
				if stage == 7 {
					kinds := map[string]bool{}
					for _, o := range objs {
						kinds[o.Kind] = true
					}
					for _, k := range []string{"PeerAuthentication", "RequestAuthentication", "AuthorizationPolicy", "Gateway", "ServiceEntry", "NetworkPolicy", "Deployment"} {
						assert.True(t, kinds[k], "the pack sees the stack's %s objects", k)
					}
				}
			}
		}
	}
}

// fromYAML reads YAML documents as the pack would see them.
func fromYAML(t *testing.T, docs string) []Object {
	t.Helper()
	var out []Object
	for i, doc := range strings.Split(docs, "\n---\n") {
		var fields map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &fields))
		gv, _ := fields["apiVersion"].(string)
		if !strings.Contains(gv, "/") {
			gv = "core/" + gv
		}
		o, ok := objects.NewObject(fmt.Sprintf("urn:%d", i), "kubernetes:"+gv+":"+fields["kind"].(string), fields)
		require.True(t, ok)
		out = append(out, o)
	}
	return out
}

const ambientBookinfo = `apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}`

func TestEachRuleCatchesItsMistake(t *testing.T) {
	cases := []struct {
		rule, docs, message string
	}{
		{"images-pinned", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: bookinfo}
spec: {template: {spec: {containers: [{name: web, image: "docker.io/nginx"}]}}}`, `runs image "docker.io/nginx": pin a tag`},
		{"images-pinned", `apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: bookinfo}
spec: {template: {spec: {initContainers: [{name: init, image: "registry:5000/tools:latest"}], containers: [{name: ok, image: "busybox@sha256:abc"}]}}}`, `"registry:5000/tools:latest"`},
		{"no-key-or-token-outside-secrets", `apiVersion: v1
kind: ConfigMap
metadata: {name: keys, namespace: bookinfo}
data: {key.pem: "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"}`, `field "key.pem" holds a private key`},
		{"no-key-or-token-outside-secrets", `apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: bookinfo}
spec: {template: {spec: {containers: [{name: c, image: "curl:8.11.1", env: [{name: TOKEN, value: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"}]}]}}}`, `field "value" holds a JWT`},
		{"gateway-tls-1-2", `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo, namespace: bookinfo}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: [bookinfo.localhost], tls: {mode: SIMPLE, credentialName: cert}}]}`, `server "https" accepts TLS below 1.2`},
		{"gateway-tls-1-2", `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo, namespace: bookinfo}
spec: {servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: MUTUAL, credentialName: cert, minProtocolVersion: TLSV1_1}}]}`, `(minProtocolVersion TLSV1_1)`},
		{"gateway-no-plain-http-beside-https", `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo, namespace: bookinfo}
spec: {servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}, {port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: cert, minProtocolVersion: TLSV1_2}}]}`, `server "http" serves plain HTTP beside HTTPS`},
		{"route-weights-sum-to-100", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec: {hosts: [reviews], http: [{name: everyone-else, route: [{destination: {host: reviews, subset: v1}, weight: 80}, {destination: {host: reviews, subset: v2}, weight: 30}]}, {name: one, route: [{destination: {host: reviews, subset: v3}}]}]}`, `route "everyone-else" shares its requests with weights adding up to 110`},
		{"retries-have-a-per-try-timeout", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec: {hosts: [reviews], http: [{name: everyone-else, timeout: 3s, retries: {attempts: 3, retryOn: 5xx}, route: [{destination: {host: reviews}}]}, {name: bounded, retries: {attempts: 2, perTryTimeout: 1s}, route: [{destination: {host: reviews}}]}]}`, `route "everyone-else" retries 3 times without a perTryTimeout`},
		{"faults-for-a-match-only", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: bookinfo}
spec: {hosts: [ratings], http: [{fault: {delay: {fixedDelay: 7s, percentage: {value: 100}}}, route: [{destination: {host: ratings}}]}, {match: [{headers: {jwt: {exact: beta-testers}}}], fault: {abort: {httpStatus: 503, percentage: {value: 100}}}, route: [{destination: {host: ratings}}]}]}`, `route 0 injects a fault into every request`},
		{"peer-authentication-strict", `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: PERMISSIVE}}`, `mode PERMISSIVE accepts plaintext`},
		{"peer-authentication-strict", `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ratings, namespace: bookinfo}
spec: {mtls: {mode: STRICT}, portLevelMtls: {"9080": {mode: DISABLE}}}`, `port 9080 mode DISABLE`},
		{"authorization-no-allow-everything", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: bookinfo}
spec: {rules: [{}]}`, `rule 0 is empty and allows every request`},
		{"request-authentication-requires-a-principal", `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-ingress}
spec: {jwtRules: [{issuer: "https://auth.example", jwks: "{}"}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: unrelated, namespace: bookinfo}
spec: {rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]}`, `requests without a token still pass`},
		{"jwks-over-https", `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-ingress}
spec: {jwtRules: [{issuer: "https://auth.example", jwksUri: "http://auth.example/jwks.json"}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require, namespace: istio-ingress}
spec: {rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]}`, `use https:// or an inline jwks`},
		{"dry-run-on-envoy-only", ambientBookinfo + `
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: try, namespace: bookinfo, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, selector: {matchLabels: {app: details}}, rules: [{from: [{source: {namespaces: [outside]}}]}]}`, `lands on ztunnel`},
		{"outbound-registry-only", `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: istio-egress}
spec: {hosts: [httpbin.org], location: MESH_EXTERNAL, ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: bookinfo}
spec: {outboundTrafficPolicy: {mode: ALLOW_ANY}}`, `ALLOW_ANY lets workloads reach any host`},
		{"outbound-registry-only", `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: open, namespace: bookinfo}
spec: {outboundTrafficPolicy: {mode: ALLOW_ANY}}`, `ALLOW_ANY lets workloads reach any host`},
		{"ambient-network-policy-allows-hbone", ambientBookinfo + `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: bookinfo}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: app-port, namespace: bookinfo}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}], ports: [{port: 9080}]}, {from: [{ipBlock: {cidr: 169.254.7.127/32}}]}]}`, `ingress rule 0 admits pods only on other ports`},
		{"authorization-no-allow-everything", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: all-but-one, namespace: bookinfo}
spec: {rules: [{from: [{source: {notNamespaces: [outside]}}], to: [{operation: {paths: ["*"]}}]}]}`, `rule 0 allows every request: its sources and operations are empty, "*" or only not-matches`},
		{"authorization-no-allow-everything", `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: empty-source, namespace: bookinfo}
spec: {rules: [{from: [{source: {}}]}]}`, `rule 0 allows every request`},
		{"destination-rule-keeps-mesh-tls", `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: bookinfo}
spec: {host: details.bookinfo.svc.cluster.local, trafficPolicy: {portLevelSettings: [{port: {number: 9080}, tls: {mode: DISABLE}}]}}`, `sends plaintext to details.bookinfo.svc.cluster.local port 9080`},
		{"ingress-terminates-tls", `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo, namespace: bookinfo}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 443, name: https, protocol: TLS}, hosts: ["*"], tls: {mode: PASSTHROUGH}}]}`, `server "https" passes TLS through (PASSTHROUGH)`},
		{"ingress-terminates-tls", `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-ingress}
spec: {gatewayClassName: istio, listeners: [{name: tls, port: 443, protocol: TLS, tls: {mode: Passthrough}}]}`, `listener tls passes TLS through`},
		{"service-entry-names-hosts", `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: anything, namespace: istio-egress}
spec: {hosts: ["*"], location: MESH_EXTERNAL, ports: [{number: 443, name: tls, protocol: TLS}], resolution: NONE}`, `host "*" registers every host`},
		{"jwt-not-forwarded", `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-ingress}
spec: {jwtRules: [{issuer: "https://auth.example", jwks: "{}", forwardOriginalToken: true}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require, namespace: istio-ingress}
spec: {rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]}`, `tokens are forwarded upstream (forwardOriginalToken)`},
		{"no-key-or-token-outside-secrets", `apiVersion: v1
kind: ConfigMap
metadata: {name: hidden, namespace: bookinfo}
binaryData: {key.pem: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDQktjd2dnU2pBZ0VBQW9JQkFRQwotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==}`, `holds a private key`},
	}
	names := map[string]bool{}
	for _, r := range Rules {
		names[r.Name] = true
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			require.True(t, names[tc.rule], "a rule of the pack")
			seen[tc.rule] = true
			var got []string
			for _, v := range check(fromYAML(t, tc.docs)) {
				got = append(got, v.Message)
			}
			require.Len(t, got, 1, "exactly the seeded mistake: %v", got)
			assert.True(t, strings.HasPrefix(got[0], tc.rule+": "), got[0])
			assert.Contains(t, got[0], tc.message)
		})
	}
	for name := range names {
		assert.True(t, seen[name], "rule %s has a seeded mistake", name)
	}
	assert.GreaterOrEqual(t, len(Rules), 10)
}

func TestGatewayInjectionImageIsPinnedByTheInjector(t *testing.T) {
	objs := fromYAML(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-ingress}
spec: {template: {spec: {containers: [{name: istio-proxy, image: auto}]}}}`)
	assert.Empty(t, check(objs))
}

func TestThePackLoads(t *testing.T) {
	pack, err := Pack(Stack{Known: true, Stage: 5}, stages.Promises())
	require.NoError(t, err)
	assert.Equal(t, PackName, pack.Name())
	assert.Len(t, pack.Policies(), len(Rules)+1, "the object rules and the stage's promises")
}

func TestTheStagesPromisesAreKept(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		for stage := 0; stage <= int(stages.Last()); stage++ {
			objs := stackObjects(t, map[string]string{"workshop:stage": fmt.Sprint(stage), "workshop:meshMode": mode})
			s := Stack{Known: true, Stage: stage, Ambient: mode == "ambient"}
			assert.Empty(t, StagePromises(s, stages.Promises()).Check(objs), "%s stage %d keeps its promises", mode, stage)
			if stage == 0 {
				continue
			}
			// The same objects claimed as one stage further: the next stage's promise is missing.
			// (A stage whose objects all depend on its settings, such as 11's, holds none.)
			if next, _ := stages.Get(config.Stage(stage + 1)); stage < int(stages.Last()) && stage >= 2 && next.Holds != nil {
				next := s
				next.Stage = stage + 1
				got := StagePromises(next, stages.Promises()).Check(objs)
				require.Len(t, got, 1, "%s stage %d objects claimed as stage %d", mode, stage, stage+1)
				assert.Contains(t, got[0].Message, fmt.Sprintf("stage %d promises ", stage+1))
			}
		}
	}
	assert.Empty(t, StagePromises(Stack{}, stages.Promises()).Check(nil), "an unknown stage is not judged")
}

// A fresh stack's preview leaves some values unknown: the pack must not conclude from their
// absence that a RequestAuthentication is unpaired (that failed `pulumi preview` of a new step4).
func TestAnAbsenceIsNotConcludedFromValuesNotKnownYet(t *testing.T) {
	objs := fromYAML(t, `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-ingress}
spec: {jwtRules: [{issuer: "https://auth.example", jwks: "{}"}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt}
spec: {rules: [{from: [{source: {requestPrincipals: ["https://auth.example/*"]}}]}]}`)
	assert.NotEmpty(t, requestAuthPaired(objs), "known to be in no namespace: unpaired")
	objs[1].Partial = true // its namespace comes from a resource not created yet
	assert.Empty(t, requestAuthPaired(objs), "not known yet: judged at the up")

	known := property.NewMap(map[string]property.Value{"a": property.New("x")})
	unknown := property.NewMap(map[string]property.Value{"metadata": property.New(map[string]property.Value{"namespace": property.New(property.Computed)})})
	assert.False(t, objects.HasUnknowns(known))
	assert.True(t, objects.HasUnknowns(unknown))
}

// The preview of a new stack whose cluster does not exist yet gives the pack the objects with no
// property at all (seen on `scripts/pulumi preview` of a fresh step4): nothing is known of them.
func TestAnObjectWithoutPropertiesIsNotJudged(t *testing.T) {
	ra := policyx.AnalyzerResource{URN: "urn:ra", Type: "kubernetes:security.istio.io/v1:RequestAuthentication", Properties: property.NewMap(nil)}
	pa := policyx.AnalyzerResource{URN: "urn:pa", Type: "kubernetes:security.istio.io/v1:PeerAuthentication", Properties: property.NewMap(nil)}
	ap := policyx.AnalyzerResource{URN: "urn:ap", Type: "kubernetes:security.istio.io/v1:AuthorizationPolicy", Properties: property.NewMap(nil)}
	objs := analyzed([]policyx.AnalyzerResource{ra, pa, ap})
	require.Len(t, objs, 3)
	for _, o := range objs {
		assert.True(t, o.Partial, o.URN)
	}
	assert.Empty(t, check(objs), "no rule concludes from what it cannot see")
	assert.Empty(t, StagePromises(Stack{Known: true, Stage: 4}, stages.Promises()).Check(objs), "stage 3 and 4's objects are there, their values not known yet")
}

// Stage 8's promise is broken by a Certificate that is not the intermediate it must be: not a CA,
// signed by something other than the workshop issuer (a self-signed root), or with a lifetime
// out of bounds or renewed too late.
func TestStage8sPromiseRefusesAnIstiodCAThatIsNotAnIntermediateWithinBounds(t *testing.T) {
	s := Stack{Known: true, Stage: 8, Ambient: true}
	objs := stackObjects(t, map[string]string{"workshop:stage": "8"})
	require.Empty(t, StagePromises(s, stages.Promises()).Check(objs), "as the program makes it")
	for name, mistake := range map[string]func(spec map[string]any){
		"not a CA":                    func(spec map[string]any) { spec["isCA"] = false },
		"a self-signed root":          func(spec map[string]any) { spec["issuerRef"] = map[string]any{"kind": "Issuer", "name": "selfsigned"} },
		"ten years":                   func(spec map[string]any) { spec["duration"] = "87600h" },
		"renewed after it ends":       func(spec map[string]any) { spec["renewBefore"] = "2200h" },
		"another Secret than mounted": func(spec map[string]any) { spec["secretName"] = "cacerts-other" },
	} {
		t.Run(name, func(t *testing.T) {
			seeded := slices.Clone(objs)
			for i, o := range seeded {
				if o.Is("cert-manager.io", "Certificate") && o.Name == "istiod-ca" {
					fields := maps.Clone(o.Fields)
					spec := maps.Clone(fields["spec"].(map[string]any))
					mistake(spec)
					fields["spec"] = spec
					o.Fields = fields
					seeded[i] = o
				}
			}
			got := StagePromises(s, stages.Promises()).Check(seeded)
			require.Len(t, got, 1, "exactly stage 8's promise is broken")
			assert.Contains(t, got[0].Message, "stage 8 promises ")
		})
	}
}
