package transfer

import (
	"log/slog"
	"time"

	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// answer is a final response: a Status, or a header that embeds one.
type answer interface{ Err() error }

// offer runs the uploader's side of a body exchange on s: send the header, wait for the
// go-ahead (the other side has checked sizes, quotas and its memory budget), send the bodies,
// and read the final answer into res.
func offer(s network.Stream, hdr any, res answer, bodies ...[]byte) error {
	if err := wire.Write(s, hdr); err != nil {
		return err
	}
	var ok Status
	if err := wire.Read(s, &ok); err != nil {
		return err
	}
	if err := ok.Err(); err != nil {
		return err
	}
	for _, b := range bodies {
		if _, err := s.Write(b); err != nil {
			return err
		}
	}
	if err := wire.Read(s, res); err != nil {
		return err
	}
	return res.Err()
}

// handler gives a stream handler the header deadline, debug logging of remote misbehaviour (which
// must not flood a node's log) and a clean close, or a reset when it failed.
func handler(id protocol.ID, log *slog.Logger, fn func(network.Stream) error) network.StreamHandler {
	return func(st network.Stream) {
		_ = st.SetDeadline(time.Now().Add(headerTimeout))
		if err := fn(st); err != nil {
			if log != nil {
				log.Debug("stream handler failed", "protocol", id, "peer", st.Conn().RemotePeer(), "err", err)
			}
			_ = st.Reset()
			return
		}
		_ = st.Close()
	}
}
