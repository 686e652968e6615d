// Package workload is the simulator's user traffic (issue 12): uploads and downloads arriving
// as Poisson processes over the whole network, file sizes from a truncated distribution
// (fixed, lognormal, pareto or exponential, via gonum's distuv), partner tags drawn by weight,
// and the file each download reads picked uniformly or by a Zipf law over upload order.
//
// The Generator only says when, how much and which: the network model (sim/network) owns the
// files, chooses who uploads and downloads, places shards and records usage. Every draw comes
// from a named stream of sim.Streams (StreamUploads, ...), one per kind of draw, so the same
// seed and config give the same workload whatever the model does with it.
package workload
