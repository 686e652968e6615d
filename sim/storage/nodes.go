package storage

import (
	"fmt"
	"math"
	"strconv"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/cairn-storage/cairn/sim"
)

// NodeConfig describes the simulated population as placement sees it.
type NodeConfig struct {
	Count int
	// NodesPerSubnet is how many consecutive node indices share a synthetic /24
	// (node i is in subnet i/NodesPerSubnet): one operator's few machines.
	NodesPerSubnet int
	// VettedShare is the fraction of nodes that passed vetting.
	VettedShare float64
	// Scores are drawn uniformly in [MinScore, 1]; 1 makes every node equal.
	MinScore float64
	// Free is each node's free space in bytes at the start.
	Free int64
}

// DefaultNodeConfig is count nodes, three to a subnet, 95% vetted, scores in
// [0.9, 1] (so power-of-two choices have something to choose) and 1 TiB free.
func DefaultNodeConfig(count int) NodeConfig {
	return NodeConfig{Count: count, NodesPerSubnet: 3, VettedShare: 0.95, MinScore: 0.9, Free: 1 << 40}
}

// maxSubnets is how many distinct synthetic /24s exist (a.b.c.0/24).
const maxSubnets = 1 << 24

// Validate says what is wrong with c.
func (c NodeConfig) Validate() error {
	switch {
	case c.Count < 1 || c.Count > math.MaxInt32:
		return fmt.Errorf("storage: node count %d out of range", c.Count)
	case c.NodesPerSubnet < 1:
		return fmt.Errorf("storage: nodes per subnet %d, want >= 1", c.NodesPerSubnet)
	case (c.Count-1)/c.NodesPerSubnet >= maxSubnets:
		return fmt.Errorf("storage: %d nodes at %d a subnet need more than %d subnets", c.Count, c.NodesPerSubnet, maxSubnets)
	case !(c.VettedShare >= 0 && c.VettedShare <= 1):
		return fmt.Errorf("storage: vetted share %v is not in [0, 1]", c.VettedShare)
	case !(c.MinScore > 0 && c.MinScore <= 1):
		return fmt.Errorf("storage: min score %v is not in (0, 1]", c.MinScore)
	case c.Free < 0:
		return fmt.Errorf("storage: free space %d < 0", c.Free)
	}
	return nil
}

// Nodes is the population, one entry per node index in parallel slices (about
// 50 bytes a node with its ID string).
type Nodes struct {
	ID     []reputation.NodeID // fixed-width decimal, so ID order is index order
	Subnet []int32
	Score  []float64
	Vetted []bool
	Free   []int64 // charged as shards are placed

	subnetName []string
}

// StreamNodes is the stream node attributes are drawn from.
const StreamNodes = "storage/nodes"

// NewNodes builds the population of c, drawing scores and vetting from streams.
func NewNodes(c NodeConfig, streams sim.Streams) (*Nodes, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ns := &Nodes{
		ID:     make([]reputation.NodeID, c.Count),
		Subnet: make([]int32, c.Count),
		Score:  make([]float64, c.Count),
		Vetted: make([]bool, c.Count),
		Free:   make([]int64, c.Count),
	}
	subnets := (c.Count-1)/c.NodesPerSubnet + 1
	ns.subnetName = make([]string, subnets)
	for s := range ns.subnetName {
		ns.subnetName[s] = fmt.Sprintf("%d.%d.%d.0/24", s>>16, (s>>8)&255, s&255)
	}
	width := len(strconv.Itoa(c.Count - 1))
	rng := streams.Named(StreamNodes)
	for i := range c.Count {
		ns.ID[i] = reputation.NodeID(fmt.Sprintf("sim-%0*d", width, i))
		ns.Subnet[i] = int32(i / c.NodesPerSubnet)
		ns.Score[i] = c.MinScore + (1-c.MinScore)*rng.Float64()
		ns.Vetted[i] = rng.Float64() < c.VettedShare
		ns.Free[i] = c.Free
	}
	return ns, nil
}

// Len is the number of nodes.
func (ns *Nodes) Len() int { return len(ns.ID) }

// SubnetName is the /24 of node i, as the node's subnetOf would name it.
func (ns *Nodes) SubnetName(i int32) string { return ns.subnetName[ns.Subnet[i]] }

// Candidate is node i as a placement candidate, the way the node's
// toReputation builds one from a discovered peer.
func (ns *Nodes) Candidate(i int32) reputation.Candidate {
	return reputation.Candidate{
		ID:     ns.ID[i],
		Subnet: ns.subnetName[ns.Subnet[i]],
		Free:   ns.Free[i],
		Score:  ns.Score[i],
		Vetted: ns.Vetted[i],
	}
}
