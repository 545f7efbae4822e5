package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Docker is a Docker daemon a test may create kind clusters with.
type Docker struct {
	// Host is its DOCKER_HOST (also set in the test's environment, so every CLI run uses it).
	Host string
	// NodeImage is the kind node image built offline (scripts/kind-node-image).
	NodeImage string
}

// WorkshopDocker starts the workshop's own Docker daemon (scripts/dockerd) inside the test's
// network namespace (scripts/test runs the end-to-end tests in one that has only loopback; the
// daemon refuses any other) and stops it, with every container it holds, when the test ends.
// The node image must have been built by `scripts/toolchain install kind`; a machine where that
// cannot run (not root, not Debian) skips the test with the reason.
func WorkshopDocker(t *testing.T) *Docker {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the workshop's Docker daemon (and kind's privileged nodes) need root")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("the kind node image is built from Debian's packages: this is not Debian")
	}
	name, err := exec.Command(filepath.Join(Root(), "scripts", "kind-node-image"), "name").Output()
	if err != nil {
		t.Fatalf("no kind node image: run scripts/toolchain install kind (scripts/test does): %v", err)
	}
	// A short directory: containerd's sockets live under it, and socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "wsd")
	if err != nil {
		t.Fatal(err)
	}
	dockerd := filepath.Join(Root(), "scripts", "dockerd")
	out, err := exec.Command(dockerd, "start", dir).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("scripts/dockerd start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(dockerd, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("scripts/dockerd stop: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	host, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "DOCKER_HOST=")
	if !ok {
		t.Fatalf("scripts/dockerd start printed %q", out)
	}
	t.Setenv("DOCKER_HOST", host)
	return &Docker{Host: host, NodeImage: strings.TrimSpace(string(name))}
}

// Docker runs the docker CLI against the daemon and returns its output.
func (d *Docker) Docker(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Lines are the non-empty lines of the docker CLI's output.
func (d *Docker) Lines(t testing.TB, args ...string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(d.Docker(t, args...), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
