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

// checkStackFile reads the stack file an operation will use before the engine starts: it must
// exist, be YAML with a `config:` map, and set the stage the command names. Pulumi would
// otherwise create a stack with no settings, or fail deep in its own output.
func checkStackFile(stack string, want config.Stage) error {
	path, settings, err := readStackFile(stack)
	shipped := fmt.Sprintf("`git checkout %s` restores the shipped file", path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return inputError{fmt.Sprintf("%s does not exist: stack %s has no settings (copy stacks/%s.yaml to it, or use the stage's own stack)",
			path, stack, "Pulumi."+stackName(want))}
	case err != nil:
		return inputError{fmt.Sprintf("%v (fix the YAML; %s)", err, shipped)}
	}
	stage, ok := settings[config.Namespace+":stage"]
	if !ok {
		return inputError{fmt.Sprintf("%s sets no %s:stage (add `%s:stage: \"%d\"` under config:; %s)", path, config.Namespace, config.Namespace, want, shipped)}
	}
	if got := fmt.Sprint(stage); got != strconv.Itoa(int(want)) {
		return inputError{fmt.Sprintf("%s sets %s:stage %s, not %d: name stage %s in the command, or change the file", path, config.Namespace, got, want, got)}
	}
	return nil
}

// readStackFile reads the `config:` of stacks/Pulumi.STACK.yaml, and says which file it read.
func readStackFile(stack string) (string, map[string]any, error) {
	path := filepath.Join(StacksDir, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return path, nil, err
	}
	var file struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return path, nil, fmt.Errorf("%s is not a valid stack file: %w", path, err)
	}
	return path, file.Config, nil
}
