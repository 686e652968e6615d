package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cairn-storage/cairn/node/api"
)

// nodeState is what the readiness poll knows about one node.
type nodeState struct {
	c      *child
	client *api.Client
	ready  bool
	status string // why it is not ready yet
}

// waitReady polls every node's peers until each has want of them in its routing table.
func (d *devnet) waitReady(ctx, parent context.Context, want int) error {
	states := make([]*nodeState, len(d.children))
	for i, c := range d.children {
		states[i] = &nodeState{c: c, status: "API not up yet"}
	}
	tick := time.NewTicker(devnetPollEvery)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		ready := d.probeAll(ctx, states, want)
		if ready == len(states) {
			return nil
		}
		if time.Since(lastReport) >= 5*time.Second {
			fmt.Fprintf(d.a.stderr, "devnet: %d of %d nodes ready\n", ready, len(states))
			lastReport = time.Now()
		}
		select {
		case dead := <-d.exits:
			return fmt.Errorf("devnet: %s", dead.deathMessage())
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			return lagError(states, want)
		case <-tick.C:
		}
	}
}

// probeAll asks every node not yet ready for its peers and returns how many are ready.
func (d *devnet) probeAll(ctx context.Context, states []*nodeState, want int) int {
	sem := make(chan struct{}, devnetProbeConc)
	var wg sync.WaitGroup
	for _, s := range states {
		if s.ready {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.probe(ctx, want)
		}()
	}
	wg.Wait()
	ready := 0
	for _, s := range states {
		if s.ready {
			ready++
		}
	}
	return ready
}

func (s *nodeState) probe(ctx context.Context, want int) {
	if s.client == nil {
		c, err := api.NewClientFromRepo(s.c.repo)
		if err != nil {
			return // the daemon writes its api file once its node is up
		}
		s.client = c
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	peers, err := s.client.Peers(pctx)
	if err != nil {
		s.status = "API: " + errorMessage(err)
		return
	}
	inRT := 0
	for _, p := range peers {
		if p.InRoutingTable {
			inRT++
		}
	}
	s.ready = inRT >= want
	s.status = fmt.Sprintf("%d of %d peers in routing table", inRT, want)
}

// lagError names the nodes that are not ready and where their logs are.
func lagError(states []*nodeState, want int) error {
	var lag []string
	var firstLog string
	for _, s := range states {
		if s.ready {
			continue
		}
		if firstLog == "" {
			firstLog = s.c.log
		}
		if len(lag) < 10 {
			lag = append(lag, fmt.Sprintf("%s (%s)", s.c.name, s.status))
		}
	}
	n := 0
	for _, s := range states {
		if !s.ready {
			n++
		}
	}
	more := ""
	if n > len(lag) {
		more = fmt.Sprintf(", and %d more", n-len(lag))
	}
	return fmt.Errorf("devnet: not ready after %s: %d of %d nodes have fewer than %d routing-table peers: %s%s; see %s",
		devnetReadyTimeout, n, len(states), want, strings.Join(lag, ", "), more, firstLog)
}
