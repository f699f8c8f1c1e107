"""autograder/judge/outcome.py: where the program computes each checked quantity (program_order)."""
from autograder.judge.outcome import program_order

# a model's program as the fixtures write it: calls, and the attributes read after each
STEPS = [{"call": "forward"}, {"call": "backward"}, {"read": "loss"}, {"read": "layers.0.dLdW"},
         {"read": "layers.1.dLdW"}, {"read": "linear.dLdW"}, {"call": "step"}, {"read": "layers.0.W"},
         {"call": "forward"}]


def test_calls_run_in_program_order_and_a_backward_pass_from_the_output_to_the_input():
    order = sorted(range(len(STEPS)), key=lambda step: program_order(STEPS, step))
    # forward's output; backward: the layer nearest the loss first, the loss (read first) last of the reads,
    # then backward's own result (the input's gradient); step(), what it updated; the second forward
    assert order == [0, 5, 4, 3, 2, 1, 6, 7, 8]


def test_after_a_forward_style_call_its_result_comes_before_what_is_read_after_it():
    steps = [{"call": "forward"}, {"read": "mask"}, {"read": "scale"}]
    assert sorted(range(3), key=lambda step: program_order(steps, step)) == [0, 1, 2]


def test_reads_before_any_call_come_first():
    steps = [{"read": "W"}, {"call": "forward"}]
    assert program_order(steps, 0) < program_order(steps, 1)
