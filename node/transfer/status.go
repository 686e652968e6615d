package transfer

import (
	"errors"

	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
)

// Status is the shared OK/error part of responses.
type Status = wire.Status

// statusOf maps a store error to the code a peer sees.
func statusOf(err error) Status {
	switch {
	case err == nil:
		return Status{OK: true}
	case errors.Is(err, store.ErrNotFound):
		return wire.Fail(wire.CodeNotFound, err)
	case errors.Is(err, store.ErrMismatch):
		return wire.Fail(wire.CodeMismatch, err)
	case errors.Is(err, store.ErrQuota):
		return wire.Fail(wire.CodeQuota, err)
	case errors.Is(err, store.ErrFull), errors.Is(err, store.ErrTooLarge):
		return wire.Fail(wire.CodeFull, err)
	case errors.Is(err, ErrBusy):
		return wire.Fail(wire.CodeBusy, err)
	case errors.Is(err, store.ErrForbidden), errors.Is(err, ErrNotAllowed):
		return wire.Fail(wire.CodeForbidden, err)
	default:
		return wire.Fail(wire.CodeInternal, err)
	}
}

// IsNotFound tells whether a peer said it does not have the object.
func IsNotFound(err error) bool {
	var re *wire.RemoteError
	return errors.As(err, &re) && re.Code == wire.CodeNotFound || errors.Is(err, store.ErrNotFound)
}
