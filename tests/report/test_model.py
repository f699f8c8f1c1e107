"""autograder/report/model.py: the report's text."""



def test_a_long_mismatch_is_cut_in_the_summary_and_says_so():
    from autograder.report.model import MAX_QUANTITY_LINES, shortened_mismatches
    details = [f"  line {i}" for i in range(MAX_QUANTITY_LINES + 7)] + ["  likely cause: a known slip"]
    message = "\n".join(['Item, case "c" (...)', "forward output: values differ", *details, "dLdW: got None"])
    shown = shortened_mismatches(message, set()).split("\n")
    assert shown[:MAX_QUANTITY_LINES + 1] == message.split("\n")[:MAX_QUANTITY_LINES + 1]
    assert shown[MAX_QUANTITY_LINES + 1:] == ["  ... 8 more line(s) (-v shows them)", "  likely cause: a known slip",
                                              "dLdW: got None"]
