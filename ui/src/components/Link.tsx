import type { ReactNode } from 'react';
import { href, onLinkClick } from '../router.ts';

/** A link to a view inside the portal. */
export function Link(props: { to: string; children: ReactNode; className?: string; 'aria-current'?: 'page' | undefined }) {
  return <a href={href(props.to)} onClick={onLinkClick(props.to)} className={props.className} aria-current={props['aria-current']}>{props.children}</a>;
}
