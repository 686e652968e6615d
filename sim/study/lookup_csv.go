package study

import "strconv"

// csvHeader names lookups.csv's columns: time in hours, nodes up and not
// departed, lookups run, hop mean and 95th percentile, requests and requests
// to dead peers per lookup (follow-ups included), the fraction of lookups that
// found the closest node up, the mean fraction of the K closest up nodes
// found, lookup time in ms (mean and percentiles, follow-up included; then the
// median time to the lookup's end before its follow-up), and the mean
// fraction of the initiators' table entries that were down.
const csvHeader = "time_h,up,live,lookups,mean_hops,p95_hops,mean_messages,mean_timeouts,found_rate,overlap," +
	"mean_ms,p50_ms,p95_ms,p99_ms,p50_end_ms,dead_entries\n"

// CSV is lookups.csv's bytes.
func (r *Result) CSV() []byte {
	b := []byte(csvHeader)
	f := func(x float64) []byte { return strconv.AppendFloat(b, x, 'f', 4, 64) }
	for _, s := range r.Samples {
		b = strconv.AppendFloat(b, s.At.Hours(), 'f', -1, 64)
		for _, v := range []int{s.Up, s.Live, s.Lookups} {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(v), 10)
		}
		b = append(b, ',')
		b = append(f(s.MeanHops), ',')
		b = strconv.AppendInt(b, int64(s.P95Hops), 10)
		for _, x := range []float64{s.MeanMsgs, s.MeanTO, s.Found, s.Overlap, s.Time.Mean, s.Time.P50, s.Time.P95,
			s.Time.P99, s.P50EndMs, s.DeadEntries} {
			b = append(b, ',')
			b = f(x)
		}
		b = append(b, '\n')
	}
	return b
}
