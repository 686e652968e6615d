package config

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// CheckBootstrap reports whether s is a multiaddr a node can join through: it must name the
// peer (/p2p/<id>), since a node only trusts an address for the identity it expects there.
func CheckBootstrap(s string) error {
	_, err := normalBootstrap(s)
	return err
}

func normalBootstrap(s string) (string, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return "", fmt.Errorf("bootstrap address %q: %w", s, err)
	}
	if _, err := peer.AddrInfoFromP2pAddr(a); err != nil {
		return "", fmt.Errorf("bootstrap address %q needs /p2p/<peer id>: %w", s, err)
	}
	return a.String(), nil
}

// AddBootstrap appends the addresses of addrs that network.bootstrap lacks (compared in
// canonical form) and returns how many it added. Nothing is added if any address is invalid.
func (n *Network) AddBootstrap(addrs ...string) (int, error) {
	have := make(map[string]bool, len(n.Bootstrap)+len(addrs))
	for _, s := range n.Bootstrap {
		if c, err := normalBootstrap(s); err == nil {
			have[c] = true
		}
		have[s] = true
	}
	var add []string
	for _, s := range addrs {
		c, err := normalBootstrap(s)
		if err != nil {
			return 0, err
		}
		if !have[c] {
			have[c] = true
			add = append(add, c)
		}
	}
	n.Bootstrap = append(n.Bootstrap, add...)
	return len(add), nil
}
