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

	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// ProbePod is the short-lived pod that runs probe p with curl in p.From, as p.ServiceAccount.
// A token goes in the Secret secret (mounted as a header file), never in the pod's spec.
func ProbePod(name string, p probe.Probe, secret string) *corev1.Pod {
	args := []string{"-sS", "-w", "\n" + curlMarker + "%{http_code} %{time_total}\n", "--max-time", strconv.Itoa(int(RequestTimeout(p).Seconds())), "--proto", "=http,https"}
	if p.Expect.Parallel > 1 {
		args = append(args, "--parallel", "--parallel-immediate", "--parallel-max", strconv.Itoa(p.Expect.Parallel))
	}
	if p.Expect.Body == "" && len(p.Expect.Split) == 0 || p.Expect.Parallel > 1 { // parallel bodies interleave
		args = append(args, "-o", "/dev/null") // only the status is judged
	}
	for _, h := range p.Headers {
		args = append(args, "-H", h)
	}
	labels := map[string]string{names.VerifyLabel: names.VerifyProbe}
	if p.InMesh {
		labels["istio.io/dataplane-mode"] = "ambient" // the pod joins the ambient mesh, whatever its namespace
	}
	pod := &corev1.Pod{
		ObjectMeta: k8smeta.ObjectMeta{Name: name, Namespace: p.From, Labels: labels,
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
	for range p.Expect.Requests - 1 { // one connection, one request after another
		c.Args = append(c.Args, p.URL)
	}
	return pod
}

// InCluster runs p from a curl pod in its namespace, waits for curl's answer, and removes the pod.
func InCluster(ctx context.Context, client kubernetes.Interface, p probe.Probe, c Credentials) probe.Result {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "verify-" + hex.EncodeToString(suffix)
	pods, secrets := client.CoreV1().Pods(p.From), client.CoreV1().Secrets(p.From)
	secret := ""
	if p.Persona != "" {
		tok, ok := c.Tokens[p.Persona]
		if !ok {
			return probe.CouldNot(p, "no token for persona "+p.Persona+" in the stack outputs")
		}
		secret = name
		if _, err := secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: k8smeta.ObjectMeta{Name: name, Labels: map[string]string{names.VerifyLabel: names.VerifyProbe}},
			StringData: map[string]string{"header": "Authorization: Bearer " + tok},
		}, k8smeta.CreateOptions{}); err != nil {
			return probe.CouldNot(p, "creating the token secret: "+err.Error())
		}
		defer func() { _ = secrets.Delete(context.WithoutCancel(ctx), name, k8smeta.DeleteOptions{}) }()
	}
	if _, err := pods.Create(ctx, ProbePod(name, p, secret), k8smeta.CreateOptions{}); err != nil {
		return probe.CouldNot(p, "creating the probe pod: "+err.Error())
	}
	defer func() { _ = pods.Delete(context.WithoutCancel(ctx), name, k8smeta.DeleteOptions{}) }()

	deadline := time.Now().Add(2 * time.Minute) // the image may still be pulling
	for {
		pod, err := pods.Get(ctx, name, k8smeta.GetOptions{})
		if err != nil {
			return probe.CouldNot(p, "reading the probe pod: "+err.Error())
		}
		for _, s := range pod.Status.ContainerStatuses {
			if s.Name == "curl" && s.State.Terminated != nil {
				raw, err := pods.GetLogs(name, &corev1.PodLogOptions{Container: "curl"}).DoRaw(ctx)
				if err != nil {
					return probe.CouldNot(p, "reading curl's answer: "+err.Error())
				}
				return CurlOutcome(p, string(raw), int(s.State.Terminated.ExitCode))
			}
		}
		if time.Now().After(deadline) {
			return probe.CouldNot(p, fmt.Sprintf("the probe pod did not finish in time (phase %s)", pod.Status.Phase))
		}
		select {
		case <-ctx.Done():
			return probe.CouldNot(p, ctx.Err().Error())
		case <-time.After(time.Second):
		}
	}
}

// curlMarker starts the line where curl writes the HTTP status (`-w`): the pod's log mixes it
// with curl's error message, which can hold numbers of its own (a port).
const curlMarker = "workshop-probe-status: "

// curl's exit codes that mean the server refused: it could not connect (7), the TLS handshake
// failed (35: an alert, or the connection closed during it), sending or receiving failed
// (55, 56: a reset) or the connection closed with no answer (52).
var curlRefused = map[int]bool{7: true, 35: true, 52: true, 55: true, 56: true}

// curlTimedOut is curl's exit code for a request that timed out (a dropped connection).
const curlTimedOut = 28

// CurlOutcome reads what the probe pod's curl printed and its exit code: an HTTP status (even
// with a non-zero exit, e.g. a body cut short), a refusal, a timeout, or anything else (a name
// that does not resolve: 6, a certificate not from the workshop CA: 60), which could not probe.
func CurlOutcome(p probe.Probe, log string, exit int) probe.Result {
	status, reported := "", false
	var said, current []string
	var seconds float64
	var statuses []int
	var bodies []string // with repeated requests: what curl printed before each status line
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimSpace(line)
		if s, ok := strings.CutPrefix(line, curlMarker); ok {
			s, took, _ := strings.Cut(s, " ")
			status, reported = s, true
			seconds, _ = strconv.ParseFloat(took, 64)
			if code, err := strconv.Atoi(s); err == nil && code >= 100 {
				statuses, bodies = append(statuses, code), append(bodies, strings.Join(current, "\n"))
			}
			current = nil
		} else if line != "" {
			said, current = append(said, line), append(current, line)
		}
	}
	if p.Expect.Requests > 1 && len(statuses) > 0 {
		return probe.GotAnswers(p, statuses, bodies)
	}
	msg := strings.Join(said, "; ")
	if !reported {
		return probe.CouldNot(p, fmt.Sprintf("curl did not report (exit %d): %s", exit, msg))
	}
	if code, err := strconv.Atoi(status); err == nil && code >= 100 {
		// What curl printed before its status line is the answer's body (with -o /dev/null,
		// nothing).
		return probe.GotAnswer(p, code, strings.Join(said, "\n"), seconds)
	}
	detail := fmt.Sprintf("curl exit %d: %s", exit, msg)
	switch {
	case curlRefused[exit]:
		return probe.GotRefused(p, detail)
	case exit == curlTimedOut:
		return probe.GotTimeout(p, detail)
	default:
		return probe.CouldNot(p, detail)
	}
}
