package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// LoopbackIP is the address of node i (1 to 254) of a network on one machine: 127.0.i.1, so
// each node looks like its own /24 to placement.
func LoopbackIP(i int) string { return fmt.Sprintf("127.0.%d.1", i) }

// LoopbackListen returns node i's TCP and QUIC listen addresses on port (0: kernel-chosen).
func LoopbackListen(i, port int) []string {
	ip, p := LoopbackIP(i), strconv.Itoa(port)
	return []string{"/ip4/" + ip + "/tcp/" + p, "/ip4/" + ip + "/udp/" + p + "/quic-v1"}
}

// freePortTries bounds the search for a port that is free for both TCP and UDP.
const freePortTries = 20

// FreePort returns a port that is free on ip for both TCP and UDP right now: the kernel picks a
// TCP port, and the number is kept if UDP can bind it too. Nothing holds it afterwards, so a
// caller should bind it soon; a node's listen addresses reuse the number for TCP and QUIC.
func FreePort(ip string) (int, error) {
	addr := net.ParseIP(ip)
	if addr == nil {
		return 0, fmt.Errorf("free port: bad IP %q", ip)
	}
	lastErr := errors.New("no attempt")
	for range freePortTries {
		tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: addr})
		if err != nil {
			return 0, fmt.Errorf("free port on %s: %w", ip, err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenUDP("udp", &net.UDPAddr{IP: addr, Port: port})
		tl.Close()
		if err == nil {
			ul.Close()
			return port, nil
		}
		lastErr = err
	}
	return 0, fmt.Errorf("free port on %s: no TCP port was also free for UDP in %d tries: %w", ip, freePortTries, lastErr)
}

// PortFree reports whether port is free on ip for both TCP and UDP right now.
func PortFree(ip string, port int) bool {
	addr := net.ParseIP(ip)
	if addr == nil || port <= 0 {
		return false
	}
	tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: addr, Port: port})
	if err != nil {
		return false
	}
	defer tl.Close()
	ul, err := net.ListenUDP("udp", &net.UDPAddr{IP: addr, Port: port})
	if err != nil {
		return false
	}
	ul.Close()
	return true
}
