package node

import (
	"context"
	"errors"

	"github.com/cairn-storage/cairn/node/api"
)

// Exit is not implemented yet.
func (n *Node) Exit(ctx context.Context) (*api.ExitResult, error) {
	return nil, errors.New("exit: not implemented yet")
}
