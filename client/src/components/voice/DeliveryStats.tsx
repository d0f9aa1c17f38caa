import type { Delivery } from '../../api/protocol';
import { fillerList, formatMs, PACE_TEXT, paceLabel } from '../../lib/delivery';

/** How a spoken answer was delivered: pace, fillers (with the words), long pauses, speaking time. */
export function DeliveryStats({ delivery, title = 'Delivery' }: { delivery: Delivery; title?: string }) {
  const pace = paceLabel(delivery.words_per_minute);
  const fillers = fillerList(delivery.fillers);
  const speakingShare = delivery.duration_ms > 0 ? delivery.speaking_ms / delivery.duration_ms : 0;
  return (
    <section className="delivery" aria-label={title} data-testid="delivery">
      <h3 className="qa__label">{title}</h3>
      <dl className="delivery__grid">
        <div className="delivery__item">
          <dt>Pace</dt>
          <dd data-testid="delivery-wpm">
            <strong>{Math.round(delivery.words_per_minute)}</strong> words/min
            <span className={`delivery__tag delivery__tag--${pace}`}>{PACE_TEXT[pace]}</span>
          </dd>
        </div>
        <div className="delivery__item">
          <dt>Fillers</dt>
          <dd data-testid="delivery-fillers">
            <strong>{delivery.filler_words}</strong>
            {fillers ? <span className="delivery__detail">{fillers}</span> : <span className="delivery__detail">none</span>}
          </dd>
        </div>
        <div className="delivery__item">
          <dt>Long pauses</dt>
          <dd data-testid="delivery-pauses">
            <strong>{delivery.long_pauses}</strong>
            <span className="delivery__detail">
              {delivery.long_pauses ? `longest ${formatMs(delivery.longest_pause_ms)}` : '2 s or more'}
            </span>
          </dd>
        </div>
        <div className="delivery__item">
          <dt>Speaking time</dt>
          <dd data-testid="delivery-speaking">
            <strong>{formatMs(delivery.speaking_ms)}</strong>
            <span className="delivery__detail">of {formatMs(delivery.duration_ms)}</span>
            <span className="delivery__bar" aria-hidden="true">
              <span style={{ width: `${Math.round(speakingShare * 100)}%` }} />
            </span>
          </dd>
        </div>
      </dl>
    </section>
  );
}
