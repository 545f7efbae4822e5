package provider

import (
	"os"
	"strconv"
)

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o600) }
func itoa(i int) string                 { return strconv.Itoa(i) }
