package workload

import (
	"errors"
	"fmt"
	"math"

	"github.com/cairn-storage/cairn/node/manifest"
)

// Config is a workload, as written in a scenario's [workload] table. Decode it over
// DefaultConfig (or a zero Config), then Fill, then Validate.
type Config struct {
	// UploadsPerHour and DownloadsPerHour are the rates of two independent Poisson processes
	// over the whole network; 0 turns one off.
	UploadsPerHour   float64 `toml:"uploads_per_hour"`
	DownloadsPerHour float64 `toml:"downloads_per_hour"`
	// FileSize is the size of each upload; without a kind, the default (DefaultSizeDist).
	FileSize SizeDist `toml:"file_size"`
	// Partners tag uploads: an upload carries partner i's ID with probability Weight_i / W,
	// and no tag with probability UntaggedWeight / W, W being the sum of all the weights.
	// Without partners every upload is untagged.
	Partners       []PartnerMix `toml:"partners"`
	UntaggedWeight float64      `toml:"untagged_weight"`
	// DownloadSkew is the Zipf exponent s of the file a download reads: over the n files the
	// model offers, in upload order, the latest upload has rank 1 and the one uploaded r-1
	// uploads before it rank r, drawn with probability ∝ r^-s. 0 is uniform; around 1 is the
	// usual popularity skew of content (recent files are read most).
	DownloadSkew float64 `toml:"download_skew"`
}

// PartnerMix is one partner tag and its weight among uploads.
type PartnerMix struct {
	ID     string  `toml:"id"`
	Weight float64 `toml:"weight"`
}

// Bounds on a Config, so a typo cannot ask for a run that never ends.
const (
	// MaxRatePerHour bounds each arrival rate: a billion an hour is far past what one
	// single-threaded run can process in reasonable time.
	MaxRatePerHour = 1e9
	// MaxSkew bounds DownloadSkew; beyond it nearly every download reads the latest file.
	MaxSkew = 10
	// MaxPartners bounds the partner list.
	MaxPartners = 10_000
)

// DefaultConfig is a workload with no traffic and the default file sizes; scenarios set the
// rates.
func DefaultConfig() Config {
	return Config{FileSize: DefaultSizeDist()}
}

// Fill sets the defaults of fields left zero where zero means nothing: the file size
// distribution and its bounds (SizeDist.Fill).
func (c *Config) Fill() { c.FileSize.Fill() }

// Validate says what is wrong with c, naming the key.
func (c Config) Validate() error {
	if !(c.UploadsPerHour >= 0 && c.UploadsPerHour <= MaxRatePerHour) {
		return fmt.Errorf("workload.uploads_per_hour: %v, want 0..%g", c.UploadsPerHour, float64(MaxRatePerHour))
	}
	if !(c.DownloadsPerHour >= 0 && c.DownloadsPerHour <= MaxRatePerHour) {
		return fmt.Errorf("workload.downloads_per_hour: %v, want 0..%g", c.DownloadsPerHour, float64(MaxRatePerHour))
	}
	if err := c.FileSize.Validate(); err != nil {
		return fmt.Errorf("workload.file_size: %w", err)
	}
	if len(c.Partners) > MaxPartners {
		return fmt.Errorf("workload.partners: %d partners, at most %d", len(c.Partners), MaxPartners)
	}
	seen := make(map[string]bool, len(c.Partners))
	total := 0.0
	for i, p := range c.Partners {
		switch err := manifest.CheckPartner(p.ID); {
		case p.ID == "":
			return fmt.Errorf("workload.partners[%d].id: empty (an untagged share is untagged_weight)", i)
		case err != nil:
			return fmt.Errorf("workload.partners[%d].id: %w", i, err)
		case seen[p.ID]:
			return fmt.Errorf("workload.partners[%d].id: %q listed twice", i, p.ID)
		case !(p.Weight >= 0) || math.IsInf(p.Weight, 0):
			return fmt.Errorf("workload.partners[%d].weight: %v, want a finite weight >= 0", i, p.Weight)
		}
		seen[p.ID] = true
		total += p.Weight
	}
	if !(c.UntaggedWeight >= 0) || math.IsInf(c.UntaggedWeight, 0) {
		return fmt.Errorf("workload.untagged_weight: %v, want a finite weight >= 0", c.UntaggedWeight)
	}
	if len(c.Partners) > 0 && !(total+c.UntaggedWeight > 0) {
		return errors.New("workload.partners: all weights are 0 (untagged_weight too): no upload could be drawn")
	}
	if math.IsInf(total+c.UntaggedWeight, 0) {
		return errors.New("workload.partners: weights sum beyond float64")
	}
	if !(c.DownloadSkew >= 0 && c.DownloadSkew <= MaxSkew) {
		return fmt.Errorf("workload.download_skew: %v, want 0..%d", c.DownloadSkew, MaxSkew)
	}
	return nil
}

// PartnerShare is the probability that an upload carries tag id ("" = untagged) under c.
func (c Config) PartnerShare(id string) float64 {
	if len(c.Partners) == 0 {
		if id == "" {
			return 1
		}
		return 0
	}
	total, w := c.UntaggedWeight, 0.0
	if id == "" {
		w = c.UntaggedWeight
	}
	for _, p := range c.Partners {
		total += p.Weight
		if p.ID == id {
			w = p.Weight
		}
	}
	return w / total
}
