/** The home page for a visitor: what the product does, how an interview goes, and the way in. */
import { Link } from 'react-router';
import { usePageTitle } from '../components/PageTitle';
import { ScoreBadge, ScoreMeter } from '../components/ui';

const STEPS: { title: string; text: string }[] = [
  {
    title: 'Choose what to practise',
    text: 'Backend, frontend, data / ML, product or behavioral, at junior, mid or senior level. Paste a job description or your resume if you want questions that lean towards them.',
  },
  {
    title: 'Answer one question at a time',
    text: 'Type or speak each answer before the timer runs out. Like a real interviewer, it may follow up on something you said.',
  },
  {
    title: 'See every answer scored',
    text: 'Coverage, structure, specificity and clarity, each out of 5, with the words from your answer that earned the score and one thing to try next time.',
  },
  {
    title: 'Read your report, then go again',
    text: 'An overall score, your strengths and next steps; the dashboard shows how each criterion moves from one interview to the next.',
  },
];

// A made-up report, shown as an example of what a candidate gets.
const SAMPLE = {
  overall: 3.4,
  criteria: [
    { name: 'Structure', value: 4 },
    { name: 'Specificity', value: 2 },
  ],
  strength: 'You open with the decision and then walk through the steps, so the caching answer was easy to follow.',
  nextStep: 'Put numbers on your results: say what p99 latency was before and after the change, and how you measured it.',
};

export function Landing() {
  usePageTitle('Practise job interviews with scored feedback');
  return (
    <div className="page landing" data-testid="landing">
      <section className="landing-hero" aria-labelledby="landing-title">
        <p className="eyebrow">Mock interviews with scored feedback</p>
        <h1 id="landing-title" className="landing-hero__title">
          Practise the interview before the interview
        </h1>
        <p className="landing-hero__lead">
          An interviewer asks questions for your role and level, follows up on your answers, and scores each one against
          a clear rubric, quoting your own words. You finish with a report that says what to practise next.
        </p>
        <div className="landing-hero__actions">
          <Link to="/signup" className="btn btn--primary btn--lg">
            Start free
          </Link>
          <Link to="/login" className="btn btn--secondary btn--lg">
            Sign in
          </Link>
        </div>
        <p className="landing-hero__note">New accounts start with free interview credits. No card needed.</p>
      </section>

      <section className="landing-section" aria-labelledby="how-title">
        <h2 id="how-title" className="section-title">
          How an interview goes
        </h2>
        <ol className="landing-steps">
          {STEPS.map((step, i) => (
            <li key={step.title} className="landing-step">
              <span className="landing-step__number" aria-hidden="true">
                {i + 1}
              </span>
              <div>
                <h3 className="landing-step__title">{step.title}</h3>
                <p className="landing-step__text">{step.text}</p>
              </div>
            </li>
          ))}
        </ol>
      </section>

      <section className="card landing-sample" aria-labelledby="sample-title" data-testid="sample-report">
        <div className="card__head">
          <h2 id="sample-title" className="card__title">
            From a sample report
          </h2>
          <span className="landing-sample__tag">Example</span>
        </div>
        <p className="muted small">Backend interview · Mid-level · 5 questions</p>
        <div className="landing-sample__grid">
          <div className="landing-sample__overall">
            <h3 className="eyebrow">Overall score</h3>
            <ScoreBadge score={SAMPLE.overall} size="lg" label="Sample overall score" />
          </div>
          <div className="landing-sample__criteria">
            <h3 className="eyebrow">By criterion</h3>
            <ul className="criteria">
              {SAMPLE.criteria.map((c) => (
                <li key={c.name} className="criterion">
                  <div className="criterion__head">
                    <span className="criterion__name">{c.name}</span>
                    <span className="criterion__score">
                      <ScoreMeter value={c.value} />
                      <span className="criterion__value">
                        {c.value}
                        <span className="muted">/5</span>
                      </span>
                    </span>
                  </div>
                </li>
              ))}
            </ul>
          </div>
        </div>
        <dl className="landing-sample__notes">
          <div className="landing-sample__note landing-sample__note--strength">
            <dt>Strength</dt>
            <dd>{SAMPLE.strength}</dd>
          </div>
          <div className="landing-sample__note landing-sample__note--next">
            <dt>Next step</dt>
            <dd>{SAMPLE.nextStep}</dd>
          </div>
        </dl>
      </section>

      <section className="landing-cta" aria-labelledby="cta-title">
        <div>
          <h2 id="cta-title" className="landing-cta__title">
            Your first interviews are free
          </h2>
          <p className="landing-cta__text">
            Each interview uses one credit. When the free ones are used up, buy more at the{' '}
            {/* A full page load: the server allows Razorpay's script only on documents loaded at /credits. */}
            <a href="/credits">prices page</a>.
          </p>
        </div>
        <div className="landing-cta__actions">
          <Link to="/signup" className="btn btn--primary btn--lg">
            Start free
          </Link>
          <a href="/credits" className="btn btn--secondary btn--lg">
            See prices
          </a>
        </div>
      </section>
    </div>
  );
}
