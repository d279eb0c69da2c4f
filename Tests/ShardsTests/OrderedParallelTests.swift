import Foundation
import Testing
import Shards

@Test func orderedParallelMapDeliversInOrder() throws {
    var seen: [Int] = []
    orderedParallelMap(count: 200, threads: 4, window: 5, work: { i -> Int in
        if i % 7 == 0 { usleep(200) }
        return i * i
    }, consume: { i, r in
        #expect(r == i * i)
        seen.append(i)
    })
    #expect(seen == Array(0..<200))
}
