"""mercato.seller"""
