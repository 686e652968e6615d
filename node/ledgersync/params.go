package ledgersync

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"lukechampine.com/blake3"

	"github.com/cairn-storage/cairn/payments"
)

// Gossipsub's stream protocols under Cairn's prefix, so Cairn's mesh never mixes with another
// libp2p application's pubsub on the same peers, and Close can remove exactly these handlers.
// v1.2 (IDONTWANT) and v1.1 (peer exchange, scoring-aware) only; no floodsub fallback.
const (
	ProtoGossipV12 protocol.ID = "/cairn/meshsub/1.2.0"
	ProtoGossipV11 protocol.ID = "/cairn/meshsub/1.1.0"
)

var gossipProtocols = []protocol.ID{ProtoGossipV12, ProtoGossipV11}

// gossipFeatures tells gossipsub what each of our protocol IDs can do.
func gossipFeatures(feat pubsub.GossipSubFeature, proto protocol.ID) bool {
	switch feat {
	case pubsub.GossipSubFeatureMesh, pubsub.GossipSubFeaturePX:
		return proto == ProtoGossipV12 || proto == ProtoGossipV11
	case pubsub.GossipSubFeatureIdontwant:
		return proto == ProtoGossipV12
	}
	return false
}

// MaxMessageSize bounds one gossipsub RPC (pubsub applies it to whole RPCs and splits control
// messages to fit): the largest entry, a fork proof, plus 1 KiB for the protobuf envelope and
// topic. Without signatures the envelope is a few dozen bytes.
const MaxMessageSize = payments.MaxForkProofSize + 1<<10

// messageID is content-addressed: BLAKE3 of the entry, which is the entry's payments.ID, so one
// entry published or relayed by several nodes is one message.
func messageID(m *pb.Message) string {
	sum := blake3.Sum256(m.GetData())
	return string(sum[:])
}

// Score thresholds. The topic's positive score is capped at topicScoreCap (10), so an honest
// peer sits in [0, 10]; one invalid entry costs invalidWeight (-100) and the penalty grows with
// the square of the count, so:
//   - 1 invalid entry: about -90..-100: below gossip and publish thresholds (no gossip to or
//     from it, no flood publishing to it) but not graylisted, in case it was an honest race;
//   - 2 invalid entries: -400: graylisted, every RPC from it is dropped unread.
//
// The counter decays to nothing over an hour, and the score is retained across reconnects.
var scoreThresholds = pubsub.PeerScoreThresholds{
	GossipThreshold:   -10,
	PublishThreshold:  -50,
	GraylistThreshold: -100,
	// Never reached (scores are capped at 10): we do not take peer exchange records, which an
	// attacker could use to eclipse us; peers come from the DHT and the node's own peer list.
	AcceptPXThreshold:           100,
	OpportunisticGraftThreshold: 1,
}

const (
	topicScoreCap = 10
	invalidWeight = -100
)

// scoreParams builds gossipsub's scoring for topic. Why each value:
//   - P1 time in mesh: +0.01 per 10 s, up to +3.6 after an hour, so long-standing mesh peers win
//     ties.
//   - P2 first deliveries: +1 per entry a peer was first to bring, capped at 5, decaying over
//     10 minutes: the ledger is low-volume, so a few entries already show usefulness.
//   - P3/P3b mesh delivery deficits: off. Ledger traffic is sparse and bursty; on a quiet topic
//     every honest mesh peer would fall short of any delivery quota and be pruned.
//   - P4 invalid deliveries: -100 × count², decaying over an hour (see scoreThresholds).
//   - P5 application score: 0 for now (the node's reputation book could feed it).
//   - P6 IP colocation: -1 × (peers on one IP − 8)²: mild Sybil pressure beyond the 8
//     connections per IP the node's resource manager admits anyway.
//   - P7 behaviour (broken promises, early re-grafts): -10 × (count − 6)², decaying in 10 min.
func scoreParams(topic string) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics: map[string]*pubsub.TopicScoreParams{topic: {
			TopicWeight:                    1,
			TimeInMeshWeight:               0.01,
			TimeInMeshQuantum:              10 * time.Second,
			TimeInMeshCap:                  360,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
			FirstMessageDeliveriesCap:      5,
			MeshMessageDeliveriesWeight:    0,
			MeshFailurePenaltyWeight:       0,
			MeshFailurePenaltyDecay:        pubsub.ScoreParameterDecay(10 * time.Minute),
			InvalidMessageDeliveriesWeight: invalidWeight,
			InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
		}},
		TopicScoreCap:               topicScoreCap,
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -1,
		IPColocationFactorThreshold: 8,
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:               pubsub.DefaultDecayInterval,
		DecayToZero:                 pubsub.DefaultDecayToZero,
		// A peer cannot shed a bad score by reconnecting.
		RetainScore: time.Hour,
	}
}

// scoreInspectPeriod is how often PeerScore's snapshot is refreshed.
var scoreInspectPeriod = time.Second

// pubsubOptions are the options every Cairn node must agree on (signing policy, message IDs,
// sizes, protocols), then scoring. inspect receives the scores every scoreInspectPeriod.
func pubsubOptions(topic string, inspect pubsub.PeerScoreInspectFn) []pubsub.Option {
	thresholds := scoreThresholds
	return []pubsub.Option{
		pubsub.WithGossipSubProtocols(gossipProtocols, gossipFeatures),
		// Entries carry their author's signature; a pubsub signature would add 100 bytes per
		// message and prove only who published, which content-addressed IDs make irrelevant.
		// Peers that sign anyway are rejected (and penalised) by pubsub itself.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithMaxMessageSize(MaxMessageSize),
		// A peer cannot make us track subscriptions to topics we do not serve.
		pubsub.WithSubscriptionFilter(pubsub.NewAllowlistSubscriptionFilter(topic)),
		pubsub.WithPeerExchange(false),
		pubsub.WithPeerScore(scoreParams(topic), &thresholds),
		pubsub.WithPeerScoreInspect(inspect, scoreInspectPeriod),
	}
}
