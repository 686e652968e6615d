package node_test

import (
	"log/slog"
	"os"
)

func init() {
	if os.Getenv("CAIRN_DEBUG_LOG") != "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
}
