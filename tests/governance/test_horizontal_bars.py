"""The one horizontal bar chart: rankings and shares with their own colours, texts and a marked pass line."""

from governance import charts


def _figure(**extra):
    return charts.Figure(key="k", title="得分（0–100）", kind="hbar", labels=["楼星村", "大楼村<b>"],
                         series=[charts.Series("得分", [63.0, 0.0])], y_max=100, **extra)


def test_each_bar_may_carry_its_own_colour_and_text():
    svg = charts.render_svg(_figure(colours=["#2e7d32", "#7f8c8d"], value_labels=["63.00", "否决 0"]))
    assert svg.count("<title>") == 2
    assert 'fill="#2e7d32"' in svg and 'fill="#7f8c8d"' in svg
    assert "63.00" in svg and "否决 0" in svg
    assert "大楼村&lt;b&gt;" in svg and "<b>" not in svg


def test_a_marked_value_is_drawn_as_a_dashed_line_with_its_label():
    svg = charts.render_svg(_figure(reference=60, reference_label="基础分 60"))
    assert 'stroke-dasharray="4 3"' in svg and "基础分 60" in svg


def test_rows_that_all_read_zero_still_show_when_they_carry_texts():
    zero = charts.Figure(key="k", title="覆盖率", kind="hbar", labels=["赵村镇"], series=[charts.Series("覆盖率", [0.0])],
                         y_max=100, value_labels=["0/12 0%"])
    assert "0/12 0%" in charts.render_svg(zero) and "暂无数据" not in charts.render_svg(zero)
    plain = charts.Figure(key="k", title="覆盖率", kind="hbar", labels=["赵村镇"], series=[charts.Series("覆盖率", [0.0])])
    assert "暂无数据" in charts.render_svg(plain)
