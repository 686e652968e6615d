package main

import (
	"errors"
	"strings"

	"github.com/cairn-storage/cairn/node/manifest"
)

// capPrefix is what every capability kind starts with; the parser explains a wrong kind.
const capPrefix = "cairn:"

// errNotCap and the parser's errors never echo the argument: a mistaken paste may be a secret.
var errNotCap = errors.New("not a Cairn capability (capabilities look like cairn:r2:<cid>:<key>, as printed by 'cairn put')")

// checkCapability validates a capability locally, so a typo fails at once rather than after a
// network lookup. It returns the trimmed capability.
func checkCapability(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, capPrefix) {
		return "", errNotCap
	}
	if _, err := manifest.ParseCapability(s); err != nil {
		return "", errors.New("malformed capability: " + err.Error())
	}
	return s, nil
}
