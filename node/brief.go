package node

import (
	"context"
	"errors"
	"strings"

	"github.com/cairn-storage/cairn/node/transfer"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// brief turns a transfer error into a short, one-line reason for users: libp2p's dial errors
// list every address tried, which buries the point (the holder is down) under many lines.
func brief(err error) string {
	var dialErr *swarm.DialError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, transfer.ErrCorrupt):
		return "holder sent corrupt data"
	case transfer.IsNotFound(err):
		return "holder does not have it"
	case errors.As(err, &dialErr), errors.Is(err, swarm.ErrDialBackoff), errors.Is(err, network.ErrNoConn):
		return "holder unreachable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if strings.Contains(msg, "failed to dial") {
		return "holder unreachable"
	}
	return msg
}
