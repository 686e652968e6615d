// Package reputation chooses which nodes hold a segment's shards (see Place).
// Today Score is an input; later this package will compute it as a beta reputation with
// forgetting (Storj-style): after each audit or repair outcome v∈{-1,+1} of weight w,
// α ← λα + w(1+v)/2 and β ← λβ + w(1−v)/2, score = α/(α+β), and a node whose score
// drops below a threshold is disqualified (Score 0, never chosen).
package reputation
