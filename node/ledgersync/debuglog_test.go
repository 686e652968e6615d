package ledgersync

import (
	"log/slog"
	"os"
)

func init() {
	if os.Getenv("LEDGERSYNC_DEBUG") != "" {
		testConfig.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}
