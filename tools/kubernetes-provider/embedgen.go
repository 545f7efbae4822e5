//go:build ignore

// embedgen writes the provider's embedded schema the way upstream's generate.go does: compact
// JSON with "version" set. Usage: go run embedgen.go VERSION SCHEMA_IN SCHEMA_OUT MAPPING_IN MAPPING_OUT
package main

import (
	"bytes"
	"encoding/json"
	"log"
	"os"
)

func main() {
	if len(os.Args) != 6 {
		log.Fatal("usage: embedgen VERSION SCHEMA_IN SCHEMA_OUT MAPPING_IN MAPPING_OUT")
	}
	var schema map[string]json.RawMessage
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		log.Fatal(err)
	}
	schema["version"], _ = json.Marshal(os.Args[1])
	out, err := json.Marshal(schema)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[3], out, 0o644); err != nil {
		log.Fatal(err)
	}
	mapping, err := os.ReadFile(os.Args[4])
	if err != nil {
		log.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[5], compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
