package main

import (
	"log/slog"
	"os"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p/core/network"
)

// envFault names a misbehaviour a daemon puts on for process-level fault tests, so they can run
// a dishonest node on the real stack. Unset in normal use.
const envFault = "CAIRN_FAULT"

// injectFault applies the fault named in CAIRN_FAULT, if any:
//   - refuse-downloads: answer audits but reset every shard download.
func injectFault(n *node.Node, log *slog.Logger) {
	switch f := os.Getenv(envFault); f {
	case "":
	case "refuse-downloads":
		log.Warn("fault injection: refusing every shard download", "env", envFault)
		n.Host().SetStreamHandler(transfer.ProtoShardGet, func(s network.Stream) { _ = s.Reset() })
	default:
		log.Warn("unknown fault ignored", "env", envFault, "value", f)
	}
}
