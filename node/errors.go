package node

import (
	"fmt"

	"github.com/cairn-storage/cairn/node/api"
)

// codedError carries the API code the CLI uses to explain a failure.
type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string   { return e.err.Error() }
func (e *codedError) Unwrap() error   { return e.err }
func (e *codedError) APICode() string { return e.code }

func coded(code string, format string, args ...any) error {
	return &codedError{code: code, err: fmt.Errorf(format, args...)}
}

var _ api.CodedError = (*codedError)(nil)
