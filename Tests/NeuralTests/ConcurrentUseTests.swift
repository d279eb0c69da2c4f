import Testing
@testable import Neural

/// A network is used by one thread at a time: a second concurrent forward or backward is refused.
@Suite struct ConcurrentUseTests {
    @Test func claimIsExclusive() {
        let net = Models.tinyCNN(rng: Random(seed: 1))
        #expect(net.beginUse())
        #expect(!net.beginUse(), "a second caller is refused while the first holds the network")
        net.endUse()
        #expect(net.beginUse())
        net.endUse()
        _ = net.forward(Tensor([1, 16, 16, 1]))
        #expect(net.beginUse(), "forward releases the network")
        net.endUse()
    }

    /// A forward that starts while another call holds the network (claimed here as a thread running
    /// forward would) stops the process with the message saying what to do.
    @Test func forwardDuringAnotherCallStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let net = Models.tinyCNN(rng: Random(seed: 1))
            _ = net.beginUse()
            _ = net.forward(Tensor([1, 16, 16, 1]))
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains(Network.concurrentUseMessage), "stderr: \(stderr)")
    }

    @Test func backwardDuringAnotherCallStops() async {
        await #expect(processExitsWith: .failure) {
            let net = Models.tinyCNN(rng: Random(seed: 1))
            let logits = net.forward(Tensor([1, 16, 16, 1]))
            _ = net.beginUse()
            _ = net.backward(logits)
        }
    }
}
