package main

import (
	"context"
	"errors"

	"github.com/cairn-storage/cairn/node/api"
)

// errorMessage is the text after "cairn: ". The daemon's messages already name the cause
// (too few nodes, too few shards, unknown file), so they are passed through; only causes the
// user can fix locally get a hint.
func errorMessage(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.CodeUnauthorized:
			return ae.Message + " (the token in the repo does not match the running daemon: is --repo right?)"
		}
		return ae.Message
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return err.Error()
}
