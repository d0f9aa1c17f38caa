import { render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { followsInBrowser } from '../test/links';
import { Landing } from './Landing';

function renderLanding() {
  return render(
    <MemoryRouter>
      <Landing />
    </MemoryRouter>,
  );
}

describe('Landing', () => {
  it('says what the product does and how an interview goes, in four steps', () => {
    renderLanding();
    expect(screen.getByRole('heading', { level: 1, name: 'Practise the interview before the interview' })).toBeInTheDocument();
    const how = screen.getByRole('heading', { name: 'How an interview goes' }).closest('section')!;
    expect(within(how).getAllByRole('listitem')).toHaveLength(4);
    expect(within(how).getByRole('heading', { name: 'Read your report, then go again' })).toBeInTheDocument();
  });

  it('shows a sample report: an overall score, two criteria, a strength and a next step', () => {
    renderLanding();
    const sample = screen.getByTestId('sample-report');
    expect(within(sample).getByLabelText('Sample overall score: 3.4 out of 5')).toBeInTheDocument();
    const criteria = within(sample).getAllByRole('listitem').map((li) => li.textContent);
    expect(criteria).toEqual(['Structure4/5', 'Specificity2/5']);
    expect(within(sample).getByText('Strength').nextSibling).toHaveTextContent(/caching answer was easy to follow/);
    expect(within(sample).getByText('Next step').nextSibling).toHaveTextContent(/p99 latency/);
    expect(sample).toHaveTextContent('Example');
  });

  it('leads to sign-up and sign-in, and to the prices as a whole page', () => {
    renderLanding();
    for (const link of screen.getAllByRole('link', { name: 'Start free' })) expect(link).toHaveAttribute('href', '/signup');
    expect(screen.getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login');
    // Plain links, not the router's: the server allows Razorpay's script only on documents loaded at /credits.
    for (const name of ['See prices', 'prices page']) {
      const link = screen.getByRole('link', { name });
      expect(link).toHaveAttribute('href', '/credits');
      expect(followsInBrowser(link)).toBe(true);
    }
    expect(followsInBrowser(screen.getByRole('link', { name: 'Sign in' }))).toBe(false);
  });

  it('titles the page', () => {
    renderLanding();
    expect(document.title).toBe('Practise job interviews with scored feedback · Mock Interview');
  });
});
