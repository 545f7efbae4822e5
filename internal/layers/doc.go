// Package layers states the project's layers; its test holds the imports to them.
//
//   - Base, no Pulumi: internal/names (namespaces, gateway names), internal/probe (checks and
//     their judgement), internal/outputs (the stack outputs program and CLI share),
//     internal/config (settings), internal/versions, internal/paths, internal/pki (certificates).
//   - Program: stages (the registry, one file per stage), components (resource builders),
//     infra (the cluster), internal/workshop (the program's main), internal/charts,
//     internal/k8sobj; policies (the policy pack) with policies/objects and policies/rules.
//   - Provider plugin: internal/provider, infra/controlplane (the local control plane).
//   - Presenter: internal/cli, internal/verify, internal/images, internal/leftovers,
//     internal/procs. It reads the registry (package stages), never a component.
//   - Tests' helpers: internal/mockstack, test/harness.
package layers
