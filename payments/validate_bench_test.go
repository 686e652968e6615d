package payments

import (
	"testing"
)

// BenchmarkValidate measures Validator.Add on fresh entries of one author's chain, signature
// checks included. Storage entries carry one signature (the author's); Download entries two
// (the author's and the server's countersignature), so they cost about twice as much.
func BenchmarkValidate(b *testing.B) {
	const chainLen = 1024
	server := newTestKey(b, 50)
	for _, kind := range []struct {
		name string
		body func(c *chain, i int) (Kind, any)
	}{
		{"storage", func(c *chain, i int) (Kind, any) { return KindStorage, c.storage(server, fixtureTime) }},
		{"download", func(c *chain, i int) (Kind, any) {
			d := c.download(server, 0)
			d.Nonce[0], d.Nonce[1] = byte(i), byte(i>>8)
			if err := CounterSign(server.priv, d); err != nil {
				b.Fatal(err)
			}
			return KindDownload, d
		}},
	} {
		b.Run(kind.name, func(b *testing.B) {
			c := newChain(b, 1)
			entries := make([][]byte, chainLen)
			size := 0
			for i := range entries {
				k, body := kind.body(c, i)
				entries[i] = c.add(k, body, fixtureTime)
				size += len(entries[i])
			}
			b.SetBytes(int64(size / chainLen))
			var v *Validator
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%chainLen == 0 { // the chain is used up: start again on a fresh validator
					b.StopTimer()
					v = NewValidator(ValidatorParams{})
					b.StartTimer()
				}
				if _, _, err := v.Add(entries[i%chainLen], testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkEd25519Verify is the floor BenchmarkValidate is compared against: one libp2p Ed25519
// Verify of a message the size of a Storage entry's signing bytes.
func BenchmarkEd25519Verify(b *testing.B) {
	c := newChain(b, 1)
	e, _ := c.entry(KindStorage, c.storage(newTestKey(b, 50), fixtureTime), fixtureTime)
	msg, err := e.SigningBytes()
	if err != nil {
		b.Fatal(err)
	}
	sig, err := c.key.priv.Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	pub := c.key.priv.GetPublic()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, err := pub.Verify(msg, sig); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
