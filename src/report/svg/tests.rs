use super::*;

#[test]
fn escapes_markup() {
    assert_eq!(
        esc(r#"<a href="x">&'"#),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn thousands_separators() {
    assert_eq!(fmt_int(0), "0");
    assert_eq!(fmt_int(999), "999");
    assert_eq!(fmt_int(1000), "1,000");
    assert_eq!(fmt_int(1234567), "1,234,567");
    assert_eq!(fmt_i64(-12345), "−12,345");
    assert_eq!(fmt_f(-0.0001, 2), "0.00");
    assert_eq!(fmt_f(-1.5, 1), "−1.5");
}

#[test]
fn linear_scale_maps_ends_and_reverses() {
    let s = LinearScale::new((0.0, 10.0), (100.0, 0.0));
    assert_eq!(s.map(0.0), 100.0);
    assert_eq!(s.map(10.0), 0.0);
    assert_eq!(s.map(5.0), 50.0);
    // degenerate domain does not divide by zero
    let d = LinearScale::new((3.0, 3.0), (0.0, 10.0));
    assert!(d.map(3.0).is_finite());
    assert_eq!(d.map(3.0), 5.0);
}

#[test]
fn nice_ticks_use_1_2_5_steps() {
    let (t, s) = nice_ticks(0.0, 1.0, 5);
    assert_eq!(s, 0.2);
    assert_eq!(t.len(), 6);
    assert!((t[5] - 1.0).abs() < 1e-12);
    let (t, s) = nice_ticks(-7.3, 22.1, 6);
    assert_eq!(s, 5.0);
    assert_eq!(t.first().copied(), Some(-5.0));
    assert_eq!(t.last().copied(), Some(20.0));
    assert_eq!(nice_domain(-7.3, 22.1, 6), (-10.0, 25.0));
    assert_eq!(fmt_tick(0.30000000000000004, 0.1), "0.3");
    assert_eq!(fmt_tick(-5.0, 5.0), "−5");
    assert_eq!(fmt_tick(20000.0, 5000.0), "20,000");
}

#[test]
fn log_scale_handles_zero_and_decades() {
    let s = LogScale::new(1234, (300.0, 0.0));
    assert_eq!(s.top_decade, 4);
    assert_eq!(s.ticks(), vec![1, 10, 100, 1000, 10000]);
    assert_eq!(s.map(0.0), 300.0); // zero sits on the baseline, no NaN
    let one = s.map(1.0);
    assert!(one < 300.0 && one > 0.0, "a count of 1 is visible: {one}");
    assert!((s.map(10000.0) - 0.0).abs() < 1e-9);
    // equal steps per decade
    let d1 = s.map(1.0) - s.map(10.0);
    let d2 = s.map(100.0) - s.map(1000.0);
    assert!((d1 - d2).abs() < 1e-9);
    assert_eq!(LogScale::new(0, (1.0, 0.0)).top_decade, 1);
}

fn balanced(svg: &str) {
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
}

#[test]
fn histogram_with_zero_bins_and_markers() {
    let h = Histogram {
        title: "Weights <all>".into(),
        x_label: "match weight".into(),
        y_label: "pairs (log)".into(),
        edges: vec![0.0, 1.0, 2.0, 3.0, 4.0],
        series: vec![
            ("below".into(), vec![0, 100, 0, 0]),
            ("match".into(), vec![0, 0, 1, 5]),
        ],
        markers: vec![Marker {
            x: 2.0,
            label: "match ≥ 2".into(),
        }],
        discrete: false,
        colors: vec![],
    };
    let s = histogram(&h);
    balanced(&s);
    assert!(s.contains("Weights &lt;all&gt;"));
    assert!(s.contains("match ≥ 2"));
    assert!(s.contains(">100<") || s.contains(">1,000<"));
    // three non-empty bars (zero bins drawn as nothing)
    assert_eq!(s.matches("<title>").count(), 1 + 3);
    // all zero: still a valid chart
    let mut e = h.clone();
    e.series = vec![("x".into(), vec![0, 0, 0, 0])];
    balanced(&histogram(&e));
}

#[test]
fn line_chart_and_bars_and_heat_map_and_waterfall_are_well_formed() {
    let l = line_chart(&LineChart {
        title: "Sweep".into(),
        x_label: "threshold".into(),
        y_label: "rate".into(),
        series: vec![
            LineSeries {
                name: "precision".into(),
                points: vec![(0.0, 0.5), (1.0, 0.9)],
            },
            LineSeries {
                name: "recall".into(),
                points: vec![(0.0, 1.0), (1.0, 0.7)],
            },
        ],
        y_range: Some((0.0, 1.0)),
        markers: vec![],
    });
    balanced(&l);
    assert!(l.contains(">precision<") && l.contains(">recall<"));
    assert!(
        l.contains("stroke-dasharray=\"6 4\""),
        "second series is dashed"
    );

    let b = bar_chart(&BarChart {
        title: "Weights".into(),
        x_label: "log2(m/u)".into(),
        series: vec!["weight".into()],
        groups: vec![BarGroup {
            heading: "name".into(),
            rows: vec![
                BarRow {
                    label: "exact".into(),
                    values: vec![9.5],
                    value_labels: vec!["+9.50".into()],
                },
                BarRow {
                    label: "else".into(),
                    values: vec![-4.0],
                    value_labels: vec!["−4.00".into()],
                },
            ],
        }],
        x_range: None,
    });
    balanced(&b);
    assert!(b.contains(">+9.50<") && b.contains(">−4.00<") && b.contains(">name<"));

    let h = heat_map(&HeatMap {
        title: "Shared".into(),
        rows: vec!["a".into(), "b".into()],
        cols: vec!["a".into(), "b".into()],
        values: vec![vec![0, 1234], vec![1234, 0]],
    });
    balanced(&h);
    assert_eq!(h.matches(">1,234<").count(), 2);

    let w = waterfall(&Waterfall {
        title: "Pair".into(),
        y_label: "log2 odds".into(),
        start_label: "prior".into(),
        start: -6.6,
        steps: vec![
            Step {
                label: "name".into(),
                note: "exact".into(),
                value: 9.8,
            },
            Step {
                label: "dob".into(),
                note: "else".into(),
                value: -3.0,
            },
        ],
        end_label: "final".into(),
        thresholds: vec![(6.6, "match".into())],
    });
    balanced(&w);
    assert!(w.contains(">+9.80<") && w.contains(">−3.00<") && w.contains(">0.20<"));
}

#[test]
fn blend_is_endpoint_exact() {
    assert_eq!(blend("#000000", "#ffffff", 0.0), "#000000");
    assert_eq!(blend("#000000", "#ffffff", 1.0), "#ffffff");
}
