package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
	bolt "go.etcd.io/bbolt"
)

const (
	// maxImportLine bounds one line of an import: the largest entry in base64, plus CR LF.
	maxImportLine = (payments.MaxForkProofSize+2)/3*4 + 2
	// importBatch is how many accepted entries one write transaction stores.
	importBatch = 1024
)

// Export writes every stored entry, one per line (standard base64 of its canonical bytes), in
// (author, seq) order. It reads one snapshot, so it is consistent even while entries arrive.
func (l *Ledger) Export(ctx context.Context, w io.Writer) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return errLedgerClosed
	}
	bw := bufio.NewWriter(w)
	err := l.db.View(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bucketEntries)
		line := make([]byte, 0, maxImportLine)
		n := 0
		return tx.Bucket(bucketChains).ForEach(func(k, id []byte) error {
			if n++; n%importBatch == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			b := entries.Get(id)
			if b == nil {
				return fmt.Errorf("ledger: chain key %x names missing entry %x", k, id)
			}
			line = base64.StdEncoding.AppendEncode(line[:0], b)
			_, err := bw.Write(append(line, '\n'))
			return err
		})
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Import validates each line of r (Export's format) at the current time and stores the
// accepted entries. Blank lines are skipped. A fork it detects excludes the author and, when
// the other entry is at hand, this node signs the proof into its own chain, so the exclusion
// survives a restart and can be passed on.
func (l *Ledger) Import(ctx context.Context, r io.Reader) (*api.ImportResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLedgerClosed
	}
	res := &api.ImportResult{Rejected: []api.ImportRejection{}}
	reject := func(line int, reason payments.Reason, detail string) {
		res.RejectedCount++
		if len(res.Rejected) < api.MaxReportedRejections {
			res.Rejected = append(res.Rejected, api.ImportRejection{Line: line, Reason: string(reason), Detail: detail})
		}
	}
	br := bufio.NewReaderSize(r, maxImportLine)
	var batch []accepted
	buf := make([]byte, 0, payments.MaxForkProofSize)
	for lineNo := 1; ; lineNo++ {
		line, tooLong, rerr := readLine(br)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			if err := l.store(batch); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("ledger import: read line %d: %w", lineNo, rerr)
		}
		switch {
		case tooLong:
			reject(lineNo, payments.ReasonTooLarge, fmt.Sprintf("line longer than %d bytes", maxImportLine))
		case len(line) == 0:
		default:
			if l.importLine(line, lineNo, &buf, &batch, reject) {
				res.Accepted++
			}
			if len(batch) >= importBatch {
				if err := l.store(batch); err != nil {
					return nil, err
				}
				batch = batch[:0]
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
		}
		if rerr != nil { // io.EOF, after the last line
			break
		}
	}
	if err := l.store(batch); err != nil {
		return nil, err
	}
	return res, nil
}

// importLine decodes and validates one line, reporting whether it was accepted.
func (l *Ledger) importLine(line []byte, lineNo int, buf *[]byte, batch *[]accepted,
	reject func(int, payments.Reason, string)) bool {
	b, err := base64.StdEncoding.AppendDecode((*buf)[:0], line)
	if err != nil {
		reject(lineNo, payments.ReasonMalformed, "not standard base64: "+err.Error())
		return false
	}
	*buf = b
	proofs := len(l.v.ForkProofs())
	err = l.add(b, batch)
	if err == nil {
		return true
	}
	var rej *payments.Rejection
	if !errors.As(err, &rej) {
		reject(lineNo, payments.ReasonMalformed, err.Error())
		return false
	}
	reject(lineNo, rej.Reason, rej.Detail)
	if rej.Reason == payments.ReasonFork {
		if all := l.v.ForkProofs(); len(all) > proofs {
			// Best effort: without it the author is still excluded until a restart.
			l.appendOwn(payments.KindForkProof, all[len(all)-1], batch)
		}
	}
	return false
}

// readLine returns the next line without its line ending. A line longer than the reader's
// buffer is skipped whole and reported as tooLong. At the end of input err is io.EOF, with
// the last line if it had no newline.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = br.ReadSlice('\n')
	}
	if tooLong {
		line = nil
	}
	return bytes.TrimSpace(line), tooLong, err
}
