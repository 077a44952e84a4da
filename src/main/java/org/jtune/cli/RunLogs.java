package org.jtune.cli;

import org.jtune.train.report.TrainingListener;

import java.util.ArrayList;
import java.util.List;

/** The log lines and evaluations of a run, kept to sum the run up at its end. */
final class RunLogs implements TrainingListener {
    private final List<TrainLog> logs = new ArrayList<>();
    private final List<EvalLog> evals = new ArrayList<>();

    @Override
    public void onLog(TrainLog log) {
        logs.add(log);
    }

    @Override
    public void onEval(EvalLog log) {
        evals.add(log);
    }

    List<TrainLog> logs() {
        return logs;
    }

    List<EvalLog> evals() {
        return evals;
    }
}
