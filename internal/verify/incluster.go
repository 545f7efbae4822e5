package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// probeLabel marks verify's pods and secrets, so a leftover is easy to find and remove.
const probeLabel = "istio-workshop/verify"

// ProbePod is the short-lived pod that runs probe p with curl in p.From, as p.ServiceAccount.
// A token goes in the Secret secret (mounted as a header file), never in the pod's spec.
func ProbePod(name string, p components.Probe, secret string) *corev1.Pod {
	args := []string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", strconv.Itoa(int(Timeout.Seconds())), "--proto", "=http,https"}
	pod := &corev1.Pod{
		ObjectMeta: k8smeta.ObjectMeta{Name: name, Namespace: p.From, Labels: map[string]string{probeLabel: "probe"},
			// The sidecar (sidecar mode) is up before curl runs, and the pod completes when curl does.
			Annotations: map[string]string{"proxy.istio.io/config": `{"holdApplicationUntilProxyStarts": true}`}},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: p.ServiceAccount,
			Containers: []corev1.Container{{
				Name:    "curl",
				Image:   versions.Curl,
				Command: []string{"curl"},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot: new(true), AllowPrivilegeEscalation: new(false),
				},
			}},
		},
	}
	c := &pod.Spec.Containers[0]
	if secret != "" {
		args = append(args, "-H", "@/probe/header")
		pod.Spec.Volumes = []corev1.Volume{{Name: "probe", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}}
		c.VolumeMounts = []corev1.VolumeMount{{Name: "probe", MountPath: "/probe", ReadOnly: true}}
	}
	c.Args = append(args, p.URL)
	return pod
}

// InCluster runs p from a curl pod in its namespace, waits for curl's answer, and removes the pod.
func InCluster(ctx context.Context, client kubernetes.Interface, p components.Probe, c Credentials) Result {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "verify-" + hex.EncodeToString(suffix)
	pods, secrets := client.CoreV1().Pods(p.From), client.CoreV1().Secrets(p.From)
	secret := ""
	if p.Persona != "" {
		tok, ok := c.Tokens[p.Persona]
		if !ok {
			return result(p, components.Refused, "no token for persona "+p.Persona+" in the stack outputs")
		}
		secret = name
		if _, err := secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: k8smeta.ObjectMeta{Name: name, Labels: map[string]string{probeLabel: "probe"}},
			StringData: map[string]string{"header": "Authorization: Bearer " + tok},
		}, k8smeta.CreateOptions{}); err != nil {
			return result(p, components.Refused, "creating the token secret: "+err.Error())
		}
		defer func() { _ = secrets.Delete(context.WithoutCancel(ctx), name, k8smeta.DeleteOptions{}) }()
	}
	if _, err := pods.Create(ctx, ProbePod(name, p, secret), k8smeta.CreateOptions{}); err != nil {
		return result(p, components.Refused, "creating the probe pod: "+err.Error())
	}
	defer func() { _ = pods.Delete(context.WithoutCancel(ctx), name, k8smeta.DeleteOptions{}) }()

	deadline := time.Now().Add(2 * time.Minute) // the image may still be pulling
	for {
		pod, err := pods.Get(ctx, name, k8smeta.GetOptions{})
		if err != nil {
			return result(p, components.Refused, "reading the probe pod: "+err.Error())
		}
		for _, s := range pod.Status.ContainerStatuses {
			if s.Name == "curl" && s.State.Terminated != nil {
				raw, err := pods.GetLogs(name, &corev1.PodLogOptions{Container: "curl"}).DoRaw(ctx)
				if err != nil {
					return result(p, components.Refused, "reading curl's answer: "+err.Error())
				}
				return CurlOutcome(p, string(raw), int(s.State.Terminated.ExitCode))
			}
		}
		if time.Now().After(deadline) {
			return result(p, components.Refused, fmt.Sprintf("the probe pod did not finish in time (phase %s)", pod.Status.Phase))
		}
		select {
		case <-ctx.Done():
			return result(p, components.Refused, ctx.Err().Error())
		case <-time.After(time.Second):
		}
	}
}

// CurlOutcome reads curl's `-w %{http_code}` output and exit code: 000 means no HTTP answer.
func CurlOutcome(p components.Probe, out string, exit int) Result {
	// stderr's error line and stdout's code share the log: the code is the last 3-digit word.
	code := 0
	for _, w := range strings.Fields(out) {
		if n, err := strconv.Atoi(w); err == nil && len(w) == 3 {
			code = n
		}
	}
	if code == 0 {
		return result(p, components.Refused, fmt.Sprintf("curl exit %d: %s", exit, strings.TrimSpace(out)))
	}
	return result(p, code, "")
}
