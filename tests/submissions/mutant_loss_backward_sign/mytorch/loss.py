"""Softmax cross-entropy loss."""

import math


class CrossEntropyLoss:
    """Mean over the batch of -sum_j Y[n,j] * log softmax(A)[n,j].

    forward(A, Y): A (N, classes) logits, Y (N, classes) one-hot -> float.
    backward() -> (softmax(A) - Y) / N, shape (N, classes).
    """

    def forward(self, A, Y):
        self.Y = Y
        self.softmax = []
        total = 0.0
        for a_n, y_n in zip(A, Y):
            top = max(a_n)                                   # shift for a stable log-softmax
            log_norm = math.log(sum(math.exp(a - top) for a in a_n))
            log_softmax = [a - top - log_norm for a in a_n]
            self.softmax.append([math.exp(v) for v in log_softmax])
            total -= sum(y * v for y, v in zip(y_n, log_softmax))
        return total / len(A)

    def backward(self):
        N = len(self.softmax)
        return [[(y - s) / N for s, y in zip(s_n, y_n)] for s_n, y_n in zip(self.softmax, self.Y)]  # MUTANT: y - s
