package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// checkStackFile checks, before the engine starts, that stack is at the stage the command names:
// by the workshop:stage its file sets, or else by its name (stack stepN is stage N). The file is
// the user's (Pulumi creates it on first use, ignored by git); a missing one is no settings.
func checkStackFile(stack string, want config.Stage) error {
	path, settings, err := readStackFile(stack)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return inputError{fmt.Sprintf("%v (fix the YAML, or delete the file to start again from the defaults)", err)}
	}
	if v, ok := settings[config.Namespace+":stage"]; ok {
		if got := fmt.Sprint(v); got != strconv.Itoa(int(want)) {
			return inputError{fmt.Sprintf("%s sets %s:stage %s, not %d: name stage %s in the command, or `scripts/pulumi config rm %s:stage --stack %s` (stack stepN is stage N)",
				path, config.Namespace, got, want, got, config.Namespace, stack)}
		}
		return checkSettings(stack)
	}
	m := config.StackStage.FindStringSubmatch(stack)
	switch {
	case m != nil && m[1] == strconv.Itoa(int(want)):
		return checkSettings(stack)
	case m == nil:
		return inputError{fmt.Sprintf("stack %s is not named stepN and sets no %s:stage: `scripts/pulumi config set %s:stage %d --stack %s` first",
			stack, config.Namespace, config.Namespace, want, stack)}
	case m[1] != strconv.Itoa(int(want)):
		return inputError{fmt.Sprintf("stack %s is stage %s by its name, not %d: name stage %s in the command, or use stack %s", stack, m[1], want, m[1], stackName(want))}
	}
	return nil
}

// readStackFile reads the `config:` of stacks/Pulumi.STACK.yaml, and says which file it read.
func readStackFile(stack string) (string, map[string]any, error) {
	path, file, err := readStackYAML(stack)
	if err != nil {
		return path, nil, err
	}
	settings, _ := file["config"].(map[string]any)
	return path, settings, nil
}

func readStackYAML(stack string) (string, map[string]any, error) {
	path := filepath.Join(StacksDir, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return path, nil, err
	}
	file := map[string]any{}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return path, nil, fmt.Errorf("%s is not a valid stack file: %w", path, err)
	}
	return path, file, nil
}

// movedStackFile writes, into dir, stack's own file (its settings and Pulumi's salt) with
// workshop:stage set to s: the file a preview of moving the live stack to stage s runs with.
func movedStackFile(dir, stack string, s config.Stage) (string, error) {
	_, file, err := readStackYAML(stack)
	switch {
	case errors.Is(err, os.ErrNotExist):
		file = map[string]any{}
	case err != nil:
		return "", inputError{fmt.Sprintf("%v (fix the YAML, or delete the file to start again from the defaults)", err)}
	}
	settings, _ := file["config"].(map[string]any)
	if settings == nil {
		settings = map[string]any{}
	}
	settings[config.Namespace+":stage"] = strconv.Itoa(int(s))
	file["config"] = settings
	raw, err := yaml.Marshal(file)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	return path, os.WriteFile(path, raw, 0o600)
}

// checkSettings loads the stack's whole configuration as the program will, so a bad setting is
// reported in a second, before the engine (and the toolchain) starts.
func checkSettings(stack string) error {
	if _, err := stackConfig(stack); err != nil {
		return inputError{err.Error()}
	}
	return nil
}
